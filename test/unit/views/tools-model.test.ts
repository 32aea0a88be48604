import assert from 'node:assert/strict';
import type { DecisionBody } from '../../../src/contracts/audit-records';
import type { PendingApprovalsResponse } from '../../../src/contracts/approvals';
import type { ToolActivity } from '../../../src/contracts/ledger-queries';
import { Ledger } from '../../../src/store/ledger/ledger';
import { agentToolLines, approvalLines, argumentsLine, serverToolLines, toolRefusalLines } from '../../../src/views/tools-model';
import { decision, settle, tempDir } from '../ledger/fixtures';

// The Tools section's view model, fed what the ledger's query index answers for recorded records.

const YESTERDAY = Date.parse('2026-11-26T15:00:00Z');
const TODAY = Date.parse('2026-11-27T09:00:00Z');

function toolCall(user: string, agent: string, route: string, o: Partial<DecisionBody> = {}): DecisionBody {
  const [server, tool] = route.split('/');
  return decision(0, {
    identity: { user, agent, session: null, roles: [] }, provider: 'mcp', route, model: '', model_served: null, tool: `mcp__${server}__${tool}`,
    arguments_sha256: 'e'.repeat(64), reserved: { input_tokens: 0, output_tokens: 0, usd: 0 }, limits: [], ...o,
  });
}

async function recordedActivity(): Promise<ToolActivity> {
  let now = YESTERDAY;
  const ledger = await Ledger.open(tempDir('tollgate-tools-view-'), { clock: () => now++ });
  for (let i = 0; i < 3; i++) ledger.append(toolCall('carol@acme.dev', 'ci-review', 'files/read_text_file'));
  now = TODAY;
  ledger.append(toolCall('alice@acme.dev', 'claude-code', 'everything/echo'));
  ledger.append(toolCall('alice@acme.dev', 'claude-code', 'everything/echo'));
  ledger.append(toolCall('alice@acme.dev', 'claude-code', 'everything/get-env', { outcome: 'refuse', status: 403, rule: 'tools' }));
  ledger.append(toolCall('carol@acme.dev', 'ci-review', 'everything/echo', { outcome: 'refuse', status: 429, rule: 'tool-burst' }));
  const model = ledger.append(decision(1, { identity: { user: 'bob@acme.dev', agent: 'notebook', session: null, roles: [] } })).record.id;
  await ledger.append({ ...settle(model), tool_calls: 7, tool_names: ['Bash'] }).durable;
  const activity = await ledger.toolActivity({ today: new Date(TODAY).toISOString(), since: new Date(YESTERDAY).toISOString(), refusals: 20 });
  await ledger.close();
  return activity;
}

describe('dashboard view model: tools', () => {
  let activity: ToolActivity;
  before(async () => {
    activity = await recordedActivity();
  });

  it('lists tool calls per agent, today beside the window, the busiest first, model tool calls included', () => {
    assert.deepEqual(agentToolLines(activity, ''), [
      { key: 'bob@acme.dev/notebook', today: 0, todayRefused: 0, calls: 0, refused: 0, modelToolCalls: 7 },
      { key: 'carol@acme.dev/ci-review', today: 1, todayRefused: 1, calls: 4, refused: 1, modelToolCalls: 0 },
      { key: 'alice@acme.dev/claude-code', today: 3, todayRefused: 1, calls: 3, refused: 1, modelToolCalls: 0 },
    ]);
    assert.deepEqual(agentToolLines(activity, 'ALICE').map((l) => l.key), ['alice@acme.dev/claude-code'], 'the identity filter applies');
    assert.deepEqual(agentToolLines(undefined, ''), [], 'a proxy older than the field shows none');
  });

  it('lists each MCP server with its tools under it', () => {
    const servers = serverToolLines(activity);
    assert.deepEqual(servers.map((s) => [s.key, s.today, s.calls, s.refused]), [['everything', 4, 4, 2], ['files', 0, 3, 0]]);
    assert.deepEqual(servers[0]!.tools.map((t) => [t.key, t.today, t.todayRefused]), [['echo', 3, 1], ['get-env', 1, 1]]);
    assert.deepEqual(servers[1]!.tools.map((t) => t.key), ['read_text_file']);
  });

  it('names each refused tool call: which tool, who, which rule, when, newest first', () => {
    const lines = toolRefusalLines(activity, '');
    assert.deepEqual(lines.map((r) => [r.toolName, `${r.user}/${r.agent}`, r.rule, r.status]), [
      ['mcp__everything__echo', 'carol@acme.dev/ci-review', 'tool-burst', 429],
      ['mcp__everything__get-env', 'alice@acme.dev/claude-code', 'tools', 403],
    ]);
    assert.ok(lines.every((r) => r.time.startsWith('2026-11-27T09:00:00')));
    assert.deepEqual(toolRefusalLines(activity, 'claude').map((r) => r.tool), ['get-env']);
  });

  it('shows no approvals where the snapshot has none, and the waiting calls oldest first with their arguments on one line', () => {
    assert.deepEqual(approvalLines(undefined, ''), { lines: [], approvers: null });
    const pending = (id: string, askedAt: string, args: unknown): PendingApprovalsResponse['pending'][number] => ({
      id, user: 'alice@acme.dev', agent: 'claude-code', session: 's', server: 'everything', tool: 'get-env', toolName: 'mcp__everything__get-env',
      arguments: args, argumentsSha256: 'a'.repeat(64), askedAt, expiresAt: '2026-11-27T09:05:00.000Z',
    });
    const { lines, approvers } = approvalLines({ approvers: 2, pending: [pending('b', '2026-11-27T09:01:00.000Z', { text: 'x'.repeat(500) }), pending('a', '2026-11-27T09:00:00.000Z', { name: '[REDACTED]' })] }, '');
    assert.equal(approvers, 2);
    assert.deepEqual(lines.map((l) => [l.id, l.who, l.arguments.length <= 160]), [['a', 'alice@acme.dev / claude-code', true], ['b', 'alice@acme.dev / claude-code', true]]);
    assert.equal(lines[0]!.arguments, '{"name":"[REDACTED]"}');
    assert.ok(lines[1]!.arguments.endsWith('…'));
    assert.equal(argumentsLine(undefined), '');
  });
});
