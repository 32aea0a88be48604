import assert from 'node:assert/strict';
import type { ModelCall } from '../../../src/contracts/call';
import type { Identity } from '../../../src/engine/identity/identity';
import { Replay } from '../../../src/engine/replay';
import { MemoryStore } from '../../../src/store/memory-store';
import { Engine } from '../../../src/engine/decide';
import { chat, engineFor, person } from '../../helpers/engine';
import { NOW, policyFrom } from '../../helpers/policy';

// The engine's side of tools on model calls: the tool entitlement (refuse or strip), a limit
// counting tool calls (held as room for one, charged at settle) and one filtered by tool name.

const bundle = (onUndeclared: string): string => `version: 1
name: tool-calls
providers:
  openai: { upstream: https://api.openai.com, style: openai }
identity:
  required: true
  roles: { dana@acme.dev: [ops] }
limits:
  - id: calls
    per: agent
    algorithm: sliding-window
    window: 1h
    limit: 4
    cost: tool_calls
  - id: shell
    per: user
    when: { tool: "Ba*" }
    algorithm: sliding-window
    window: 1h
    limit: 100
    cost: tool_calls
tools:
  on_undeclared: ${onUndeclared}
  default: { allow: [Read] }
  roles: { ops: { allow: [Bash] } }
`;

const fn = (name: string): unknown => ({ type: 'function', function: { name, parameters: {} } });
const declaring = (...names: string[]): ModelCall => chat('gpt-4o-mini', 'hi', { tools: names.map(fn) });

describe('tool entitlements in the engine', () => {
  it('refuses a declared tool outside the list, naming it, before anything is held', async () => {
    const { engine, policy } = engineFor(policyFrom(bundle('refuse')));
    const d = await engine.decide({ identity: person('eve@acme.dev', policy), call: declaring('Read', 'Bash') }, NOW);
    assert.equal(d.outcome, 'refuse');
    assert.equal(d.status, 403);
    assert.equal(d.rule, 'tools');
    assert.equal(d.refusal, 'entitlement');
    assert.deepEqual(d.errorDetails, { notEntitled: 'tool' });
    assert.match(d.reason, /eve@acme\.dev is not entitled to tool 'Bash'/);
    assert.equal(d.hold, undefined);
  });

  it('widens the list by role', async () => {
    const { engine, policy } = engineFor(policyFrom(bundle('refuse')));
    const d = await engine.decide({ identity: person('dana@acme.dev', policy), call: declaring('Read', 'Bash') }, NOW);
    assert.equal(d.outcome, 'allow');
    assert.equal(d.strippedTools, undefined);
  });

  it('strips instead: the decision names the stripped tools and its call keeps the rest', async () => {
    const { engine, policy } = engineFor(policyFrom(bundle('strip')));
    const d = await engine.decide({ identity: person('eve@acme.dev', policy), call: declaring('Read', 'Bash', 'Edit') }, NOW);
    assert.equal(d.outcome, 'allow');
    assert.deepEqual(d.strippedTools, ['Bash', 'Edit']);
    assert.deepEqual(d.call.tools, ['Read']);
    assert.equal(d.limits.some((l) => l.rule === 'shell'), false, 'a when: { tool } filter sees the call as it goes upstream');
  });

  it('a bundle without a tools section allows every tool', async () => {
    const { engine, policy } = engineFor(policyFrom(bundle('refuse').replace(/\ntools:[\s\S]*$/, '\n')));
    const d = await engine.decide({ identity: person('eve@acme.dev', policy), call: declaring('Bash') }, NOW);
    assert.equal(d.outcome, 'allow');
  });
});

describe('cost: tool_calls', () => {
  it('holds room for one tool call, charges the response\'s at settle, and refuses the next call once spent', async () => {
    const { engine, policy } = engineFor(policyFrom(bundle('refuse')));
    const dana = person('dana@acme.dev', policy, 'loop');
    const first = await engine.decide({ identity: dana, call: declaring('Bash') }, NOW);
    assert.equal(first.limits.find((l) => l.rule === 'calls')!.after, 1, 'room for one is held');
    const s = await engine.settle(first, { input_tokens: 10, output_tokens: 5, tool_calls: 4, tool_names: ['Bash', 'Read', 'Bash', 'Bash'] }, NOW + 1);
    assert.deepEqual(s.limits.map((l) => [l.rule, l.after]), [['calls', 4], ['shell', 3]], 'the Ba* limit counts only the Bash calls');
    const next = await engine.decide({ identity: dana, call: declaring('Bash') }, NOW + 2);
    assert.equal(next.outcome, 'refuse');
    assert.equal(next.rule, 'calls');
    assert.equal(next.status, 429);
    assert.ok(next.retryAfterS !== undefined && next.retryAfterS > 0);
    assert.match(next.reason, /tool call/);
    const plain = await engine.decide({ identity: dana, call: chat('gpt-4o-mini', 'hi') }, NOW + 3);
    assert.equal(plain.outcome, 'allow', 'a call declaring no tools holds nothing of a tool-call limit');
  });

  it('an unknown usage keeps the one held; a reply without tool calls releases it', async () => {
    const { engine, policy } = engineFor(policyFrom(bundle('refuse')));
    const dana = person('dana@acme.dev', policy, 'a');
    const d1 = await engine.decide({ identity: dana, call: declaring('Read') }, NOW);
    assert.equal((await engine.settle(d1, undefined, NOW)).limits.find((l) => l.rule === 'calls')!.after, 1);
    const d2 = await engine.decide({ identity: dana, call: declaring('Read') }, NOW);
    assert.equal((await engine.settle(d2, { input_tokens: 1, output_tokens: 1, tool_calls: 0 }, NOW)).limits.find((l) => l.rule === 'calls')!.after, 1);
  });

  // The call the MCP gateway hands the engine for each tools/call (src/proxy/mcp/tool-calls.ts).
  const mcpCall = (tool: string): ModelCall => ({
    provider: 'mcp', style: 'mcp', route: `srv/${tool}`, kind: 'tool', tool, tools: [tool], toolCalls: 1, stream: false, inputTokens: 0, choices: 1, texts: [],
  });

  it('counts an MCP tool call against tool_calls limits, filtered by tool name, without a response to read', async () => {
    const { engine, policy } = engineFor(policyFrom(bundle('refuse')));
    const dana = person('dana@acme.dev', policy, 'mcp');
    for (let i = 0; i < 4; i++) {
      const d = await engine.decide({ identity: dana, call: mcpCall('Bash') }, NOW);
      assert.equal(d.outcome, 'allow');
      assert.equal(d.limits.find((l) => l.rule === 'shell')?.after, i + 1, 'the Ba* limit counts the Bash call');
    }
    assert.equal((await engine.decide({ identity: dana, call: mcpCall('Bash') }, NOW)).rule, 'calls');
  });

  it('refuses an MCP tool call outside the list by the tool entitlement, and never strips it', async () => {
    const { engine, policy } = engineFor(policyFrom(bundle('strip')));
    const d = await engine.decide({ identity: person('eve@acme.dev', policy, 'mcp'), call: mcpCall('Bash') }, NOW);
    assert.equal(d.outcome, 'refuse');
    assert.equal(d.rule, 'tools');
    assert.deepEqual(d.errorDetails, { notEntitled: 'tool' });
    assert.equal(d.strippedTools, undefined);
  });

  it('refuses a tool outside a token\'s scope, on an MCP call and declared to a model, naming the scope', async () => {
    const { engine, policy } = engineFor(policyFrom(bundle('refuse')));
    const scoped: Identity = { ...person('dana@acme.dev', policy, 'mcp'), token: { id: 'tok-1', expiresAt: NOW + 3_600_000, scope: { tools: ['Read'] } } };
    for (const call of [mcpCall('Bash'), declaring('Read', 'Bash')]) {
      const d = await engine.decide({ identity: scoped, call }, NOW);
      assert.equal(d.outcome, 'refuse');
      assert.equal(d.rule, 'token-scope');
      assert.match(d.reason, /scoped to tools Read, which does not include tool 'Bash'/);
    }
    assert.equal((await engine.decide({ identity: scoped, call: mcpCall('Read') }, NOW)).outcome, 'allow');
  });

  it('a restart replays settle records with their tool calls', async () => {
    const policy = policyFrom(bundle('refuse'));
    const { engine } = engineFor(policy);
    const dana = person('dana@acme.dev', policy, 'r');
    const d = await engine.decide({ identity: dana, call: declaring('Bash') }, NOW);
    const store = new MemoryStore();
    const replay = new Replay(new Engine(policy, store), store);
    await replay.decision({ id: 'd1', limits: d.limits, exception: null, identity: { agent: dana.agent }, classification: [] }, NOW);
    await replay.settle({ decision: 'd1', usage: { input_tokens: 1, output_tokens: 1 }, usd: 0, tool_calls: 3, tool_names: ['Bash', 'Bash', 'Read'] }, NOW);
    const next = await new Engine(policy, store).decide({ identity: dana, call: declaring('Bash') }, NOW);
    assert.equal(next.limits.find((l) => l.rule === 'calls')!.before, 3, 'the replayed tool calls count');
    assert.equal(next.limits.find((l) => l.rule === 'shell')!.before, 2, 'and only the Bash calls count against the Ba* limit');
  });
});
