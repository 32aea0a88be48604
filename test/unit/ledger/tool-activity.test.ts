import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { AuditRecord, DecisionBody, SettleBody } from '../../../src/contracts/audit-records';
import type { ToolActivity } from '../../../src/contracts/ledger-queries';
import { IndexService } from '../../../src/store/ledger/index-service';
import { Ledger } from '../../../src/store/ledger/ledger';
import { indexRowOf } from '../../../src/store/ledger/index-db';
import { ledgerPaths, scanJournal } from '../../../src/store/ledger/segments';
import { decision, settle, tempDir } from './fixtures';

// The dashboard's tool calls from the ledger's query index: MCP tools/calls by agent, server and
// tool with their refusals, and the tool calls models asked for, per day; counted as records come,
// so they hold however far the index has rolled its detail up.

const DAY1 = Date.parse('2026-03-01T10:00:00Z');
const DAY2 = Date.parse('2026-03-02T10:00:00Z');

/** An MCP tools/call's decision record, as the gateway writes it. */
function toolCall(user: string, agent: string, route: string, o: Partial<DecisionBody> = {}): DecisionBody {
  const [server, tool] = route.split('/');
  return decision(0, {
    identity: { user, agent, session: null, roles: [] }, provider: 'mcp', route, model: '', model_served: null, tool: `mcp__${server}__${tool}`,
    arguments_sha256: 'f'.repeat(64), reserved: { input_tokens: 0, output_tokens: 0, usd: 0 }, limits: [], ...o,
  });
}

function modelCall(user: string, agent: string): DecisionBody {
  return decision(1, { identity: { user, agent, session: null, roles: [] } });
}

function settledWithTools(id: string, n: number): SettleBody {
  return { ...settle(id), tool_calls: n, tool_names: Array.from({ length: n }, () => 'Bash') };
}

/** Day 1: an earlier day in the window. Day 2 ("today"): calls, refusals of three kinds, a model loop. Returns the refused ids, newest first. */
async function writeTraffic(l: Ledger, at: (t: number) => void): Promise<string[]> {
  at(DAY1);
  l.append(toolCall('alice@acme.dev', 'claude', 'everything/echo'));
  const m1 = l.append(modelCall('alice@acme.dev', 'claude')).record.id;
  l.append(settledWithTools(m1, 2));
  at(DAY2);
  l.append(toolCall('alice@acme.dev', 'claude', 'everything/echo'));
  const r1 = l.append(toolCall('alice@acme.dev', 'claude', 'everything/get-env', { outcome: 'refuse', status: 403, rule: 'tools' })).record.id;
  l.append(toolCall('alice@acme.dev', 'claude', 'docs/search'));
  const r2 = l.append(toolCall('bob@acme.dev', 'ci', 'everything/echo', { outcome: 'refuse', status: 429, rule: 'tool-burst' })).record.id;
  // A shadow refusal let the call through: counted as a call, not as a refusal.
  l.append(toolCall('bob@acme.dev', 'ci', 'everything/echo', { outcome: 'refuse', status: 200, rule: 'tool-burst', shadow: true }));
  const m2 = l.append(modelCall('bob@acme.dev', 'ci')).record.id;
  const m3 = l.append(modelCall('bob@acme.dev', 'ci')).record.id;
  l.append(modelCall('carol@acme.dev', 'default'));
  l.append(settle(m3));
  // Settled after three more decisions: past a detail window of two, its decision is rolled up by then.
  await l.append(settledWithTools(m2, 3)).durable;
  return [r2, r1];
}

const expected = (refused: string[]): ToolActivity => ({
  today: {
    byAgent: [
      { key: 'alice@acme.dev/claude', calls: 3, refused: 1, model_tool_calls: 0 },
      { key: 'bob@acme.dev/ci', calls: 2, refused: 1, model_tool_calls: 3 },
    ],
    byServer: [{ key: 'docs', calls: 1, refused: 0, model_tool_calls: 0 }, { key: 'everything', calls: 4, refused: 2, model_tool_calls: 0 }],
    byTool: [
      { key: 'docs/search', calls: 1, refused: 0, model_tool_calls: 0 },
      { key: 'everything/echo', calls: 3, refused: 1, model_tool_calls: 0 },
      { key: 'everything/get-env', calls: 1, refused: 1, model_tool_calls: 0 },
    ],
  },
  window: {
    byAgent: [
      { key: 'alice@acme.dev/claude', calls: 4, refused: 1, model_tool_calls: 2 },
      { key: 'bob@acme.dev/ci', calls: 2, refused: 1, model_tool_calls: 3 },
    ],
    byServer: [{ key: 'docs', calls: 1, refused: 0, model_tool_calls: 0 }, { key: 'everything', calls: 5, refused: 2, model_tool_calls: 0 }],
    byTool: [
      { key: 'docs/search', calls: 1, refused: 0, model_tool_calls: 0 },
      { key: 'everything/echo', calls: 4, refused: 1, model_tool_calls: 0 },
      { key: 'everything/get-env', calls: 1, refused: 1, model_tool_calls: 0 },
    ],
  },
  refusals: [
    { id: refused[0]!, time: '', user: 'bob@acme.dev', agent: 'ci', server: 'everything', tool: 'echo', rule: 'tool-burst', status: 429 },
    { id: refused[1]!, time: '', user: 'alice@acme.dev', agent: 'claude', server: 'everything', tool: 'get-env', rule: 'tools', status: 403 },
  ],
});

describe('ledger query index: tool calls for the dashboard', () => {
  it('groups MCP calls by agent, server and tool, today and over the window, with refusals and the tool calls models asked for', async () => {
    const dir = tempDir('tollgate-tools-');
    let now = DAY1;
    let step = 0;
    const l = await Ledger.open(dir, { clock: () => now + step++ });
    const refused = await writeTraffic(l, (t) => {
      now = t;
      step = 0;
    });
    const activity = await l.toolActivity({ today: new Date(DAY2).toISOString(), since: new Date(DAY1).toISOString(), refusals: 10 });
    const want = expected(refused);
    assert.deepEqual({ today: activity.today, window: activity.window }, { today: want.today, window: want.window });
    assert.deepEqual(activity.refusals.map((r) => ({ ...r, time: '' })), want.refusals, 'refused calls, newest first: which tool, who, which rule');
    assert.ok(activity.refusals.every((r) => r.time.startsWith('2026-03-02T10:00:00')), 'and when');
    assert.deepEqual((await l.toolActivity({ today: '2026-03-03', since: '2026-03-03', refusals: 1 })).window.byAgent, [], 'nothing after the last day');
    assert.equal((await l.toolActivity({ today: '2026-03-02', since: '2026-03-01', refusals: 1 })).refusals.length, 1);
    await l.close();

    // The same journal through an index with a detail window of two decisions, a record at a
    // time: most decisions are rolled up, one model call's settle (with its tool calls) arrives
    // after its decision was. The counts are the same.
    const paths = { ...ledgerPaths(dir), index: path.join(dir, 'small-window.sqlite') };
    const rolled = await IndexService.open({ paths, tip: { seq: 0, hash: '', time: null, next: { segment: 1, offset: 0 } }, snapshotEvery: 1_000_000, detailWindow: 2 });
    for await (const line of scanJournal(paths.journal)) {
      const r = line.record as AuditRecord;
      const row = indexRowOf(r);
      if (row) await rolled.add([row], { seq: r.seq, hash: r.hash, next: { segment: line.segment.firstSeq, offset: line.end } });
    }
    const again = (await rolled.answer({ op: 'tools', query: { today: '2026-03-02', since: '2026-03-01', refusals: 10 } })) as ToolActivity;
    assert.deepEqual({ today: again.today, window: again.window }, { today: want.today, window: want.window });
    assert.ok(again.refusals.length <= 2, 'refused calls are listed from the detail the index still holds');
    await rolled.close();
  });
});
