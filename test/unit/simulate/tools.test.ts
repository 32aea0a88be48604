import assert from 'node:assert/strict';
import { mcpToolCall } from '../../../src/engine/tools';
import { simulate, TrafficFileError } from '../../../src/simulate/simulate';
import type { NumberedLine } from '../../../src/simulate/simulate';
import { callFor, parseTrafficLine } from '../../../src/simulate/traffic';
import { formatText } from '../../../src/simulate/report';
import { NOW, policyFrom } from '../../helpers/policy';

// simulate replays MCP tools/call lines as the gateway decides them: the tools entitlement, limits
// that count tool calls (`cost: tool_calls`, `when: { tool }`), reported at the line that is refused.

const at = (ms: number): string => new Date(NOW + ms).toISOString();

/** Traffic lines from objects, numbered from 1 as a file would be; a comment line first, as files have. */
function traffic(objects: object[]): NumberedLine[] {
  return [{ text: '# a tool loop', line: 1 }, ...objects.map((o, i) => ({ text: JSON.stringify(o), line: i + 2 }))];
}

// A burst of 5 tool calls per agent (one more each second), counting only the everything server's
// tools; bob's role may call every tool, everyone else a few.
const bundle = `version: 1
name: tools-test
providers:
  openai: { upstream: https://api.openai.com, style: openai }
identity:
  required: true
  roles:
    bob@acme.dev: [ml-engineers]
limits:
  - id: tool-burst
    per: agent
    algorithm: token-bucket
    rate: 60/min
    burst: 5
    cost: tool_calls
    when: { tool: "mcp__everything__*" }
tools:
  default:
    allow: [mcp__everything__echo, "mcp__docs__*"]
  roles:
    ml-engineers: { allow: ["*"] }
mcp:
  servers:
    everything: { command: [mcp-server-everything, stdio] }
    docs: { url: "https://docs.acme.dev/mcp" }
`;

const call = (ms: number, o: object): object => ({ time: at(ms), user: 'alice@acme.dev', agent: 'loop', provider: 'mcp', server: 'everything', tool: 'echo', ...o });

describe('simulate: MCP tool calls', () => {
  it('builds the very call the gateway decides for a tools/call', () => {
    const t = parseTrafficLine(JSON.stringify(call(0, {})), 1)!;
    assert.deepEqual(callFor(policyFrom(bundle), t, 1), mcpToolCall('everything', 'echo'));
  });

  it('stops a tool loop at the tool-burst limit, at the line that passes it', async () => {
    // Seven calls at once: five fit the burst, the sixth (file line 7) and seventh are refused; a
    // second later one call has refilled. Calls to another server are not counted by the limit.
    const lines = [...Array.from({ length: 7 }, () => call(0, {})), call(0, { server: 'docs', tool: 'search' }), call(1000, {}), call(1000, {})];
    const r = await simulate(traffic(lines), { policy: policyFrom(bundle) });
    const alice = r.policy.identities[0]!;
    assert.equal(alice.requests, 10);
    assert.equal(alice.mcp_calls, 10);
    assert.equal(alice.allowed, 7);
    assert.deepEqual(alice.refused_by_rule, { 'tool-burst': 3 });
    assert.deepEqual(alice.mcp_refused, { mcp__everything__echo: 3 });
    assert.deepEqual({ line: alice.first_refusal?.line, time: alice.first_refusal?.time, rule: alice.first_refusal?.rule }, { line: 7, time: at(0), rule: 'tool-burst' });
    assert.match(alice.first_refusal!.reason, /tool-burst/);
    assert.equal(alice.usd, 0, 'a tool call costs no model spend');
    assert.match(formatText(r), /alice@acme\.dev +10 +7 +0 +3 +\$0\.00 +\S+ tool-burst \(line 7\)\n {2}refused by tool-burst 3\n {2}MCP tool calls refused: mcp__everything__echo 3 \(of 10\)/);
  });

  it("refuses a tool outside the identity's entitlement at its line, and lets a role's wider list through", async () => {
    const lines = [
      call(0, {}),
      call(10, { tool: 'get-env' }),
      call(20, { user: 'bob@acme.dev', tool: 'get-env' }),
      call(30, { server: 'docs', tool: 'search' }),
    ];
    const r = await simulate(traffic(lines), { policy: policyFrom(bundle) });
    const [alice, bob] = r.policy.identities;
    assert.deepEqual(alice!.refused_by_rule, { tools: 1 });
    assert.equal(alice!.first_refusal?.line, 3);
    assert.match(alice!.first_refusal!.reason, /not entitled to tool 'mcp__everything__get-env'/);
    assert.equal(alice!.allowed, 2);
    assert.equal(bob!.refused, 0, "bob's role allows every tool");
    assert.deepEqual(r.policy.totals.refused_by_rule, { tools: 1 });
  });

  it('shows who a proposed bundle newly refuses tool calls, against a baseline without the limit', async () => {
    const lines = Array.from({ length: 7 }, (_, i) => call(i, {}));
    const baseline = policyFrom(bundle.replace(/limits:[\s\S]*?(?=tools:)/, ''));
    const r = await simulate(traffic(lines), { policy: policyFrom(bundle), baseline });
    assert.equal(r.baseline!.totals.refused, 0);
    assert.deepEqual(r.changes!.map((c) => ({ user: c.user, n: c.newly_refused, rule: c.first_rule })), [{ user: 'alice@acme.dev', n: 2, rule: 'tool-burst' }]);
  });

  it('names a wrong MCP line at its line number: a model field on it, a missing tool, a bad server name', async () => {
    const bad = [
      call(0, { model: 'gpt-4o' }),
      { time: at(1), user: 'alice@acme.dev', provider: 'mcp', server: 'everything' },
      call(2, { server: 'Every/Thing' }),
      { time: at(3), user: 'alice@acme.dev', provider: 'openai', model: 'gpt-4o-mini', input_tokens: 1, server: 'docs' },
    ];
    await assert.rejects(simulate(traffic(bad), { policy: policyFrom(bundle) }), (err: unknown) => {
      assert.ok(TrafficFileError.is(err));
      assert.deepEqual(err.errors.map((e) => e.line), [2, 3, 4, 5]);
      assert.match(err.errors[0]!.message, /"model" does not apply to an MCP line/);
      assert.match(err.errors[1]!.message, /"tool" is required/);
      assert.match(err.errors[2]!.message, /"server" must be an MCP server's name/);
      assert.match(err.errors[3]!.message, /"server" belongs to an MCP line/);
      return true;
    });
  });
});
