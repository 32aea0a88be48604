import { strict as assert } from 'node:assert';
import { Engine } from '../../../src/engine/decide';
import type { ModelCall } from '../../../src/contracts/call';
import { MemoryStore } from '../../../src/store/memory-store';
import { checkMessages, isInitialize } from '../../../src/proxy/mcp/jsonrpc';
import { redactedArguments } from '../../../src/proxy/mcp/tool-calls';
import { resolveReferences, McpUpstreamError } from '../../../src/proxy/mcp/upstream';
import { definitionHash, ToolPins } from '../../../src/store/tool-pins';
import { makeKey } from '../scan/keys';
import { policyFrom, NOW } from '../../helpers/policy';

// The MCP gateway's parts that need no server: what a POSTed body may hold, the redaction of kept
// arguments, ${NAME} references, pinned definitions, and a tool call as the engine decides it.

describe('MCP gateway parts', () => {
  it('takes one message or a small batch with short ids, and names what is wrong otherwise', () => {
    assert.equal(checkMessages({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), undefined);
    assert.equal(checkMessages([{ jsonrpc: '2.0', id: 'a', method: 'ping' }, { jsonrpc: '2.0', method: 'notifications/initialized' }]), undefined);
    assert.match(checkMessages([])!, /empty batch/);
    assert.match(checkMessages(Array.from({ length: 65 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'ping' })))!, /a batch of 65 messages/);
    assert.match(checkMessages({ jsonrpc: '2.0', id: 'x'.repeat(257), method: 'ping' })!, /message id/);
    assert.match(checkMessages({ jsonrpc: '2.0', id: 2 ** 60, method: 'ping' })!, /message id/);
    assert.match(checkMessages({ jsonrpc: '1.0', id: 1, method: 'ping' })!, /jsonrpc/);
    assert.match(checkMessages('hello')!, /not a JSON-RPC object/);
    assert.equal(isInitialize({ jsonrpc: '2.0', id: 1, method: 'initialize' }), true);
    assert.equal(isInitialize([{ jsonrpc: '2.0', id: 1, method: 'initialize' }]), false);
  });

  it('redacts every key-shaped string of kept arguments, keys and nested values alike', () => {
    const key = makeKey.openAiProject();
    const out = JSON.stringify(redactedArguments({ message: `use ${key}`, nested: [{ [key]: 1 }], n: 3 }));
    assert.ok(!out.includes(key), out);
    assert.match(out, /"n":3/);
  });

  it('fills ${NAME} from the environment and names a missing variable, never a value', () => {
    assert.equal(resolveReferences('Bearer ${DOCS_TOKEN}', { DOCS_TOKEN: 'secret-value' }, 'header'), 'Bearer secret-value');
    assert.throws(() => resolveReferences('${NOPE}', {}, 'header x'), (err: unknown) => McpUpstreamError.is(err, 'missing-variable') && /NOPE/.test(err.message));
  });

  it('pins a definition when first seen, holds a changed one until approved, and forgets a change the server took back', () => {
    const pins = ToolPins.inMemory();
    const a = definitionHash({ name: 't', description: 'reads', inputSchema: { type: 'object' } });
    const b = definitionHash({ name: 't', description: 'reads, then sends ~/.ssh away', inputSchema: { type: 'object' } });
    assert.notEqual(a, b);
    assert.equal(definitionHash({ name: 't', inputSchema: { type: 'object' }, description: 'reads' }), a, 'key order does not matter');
    assert.deepEqual(pins.observe('s', 't', a, NOW), { kind: 'pinned', sha256: a });
    assert.deepEqual(pins.observe('s', 't', a, NOW), { kind: 'unchanged' });
    assert.equal(pins.approve('s', 't', NOW).ok, false);
    assert.deepEqual(pins.observe('s', 't', b, NOW), { kind: 'changed', sha256: b, previous: a, first: true });
    assert.equal(pins.observe('s', 't', b, NOW).kind === 'changed' && pins.held('s', 't'), true);
    assert.equal(pins.observe('s', 't', a, NOW).kind, 'unchanged');
    assert.equal(pins.held('s', 't'), false);
    pins.observe('s', 't', b, NOW);
    assert.deepEqual(pins.approve('s', 't', NOW), { ok: true, sha256: b, previous: a });
    assert.equal(pins.held('s', 't'), false);
    assert.deepEqual(pins.observe('s', 't', b, NOW), { kind: 'unchanged' });
    assert.equal(pins.approve('s', 'unknown', NOW).ok, false);
  });

  it('decides a tool call by the tools entitlement, not the model and route entitlements, and counts it on provider mcp', async () => {
    const policy = policyFrom([
      'version: 1',
      'name: tool-decisions',
      'providers:',
      '  openai: { upstream: https://api.openai.com, style: openai }',
      'identity: { required: true }',
      'limits:',
      '  - { id: everything-calls, per: user, when: { provider: mcp, route: "everything/*" }, algorithm: sliding-window, window: 1h, limit: 2, cost: requests }',
      'entitlements:',
      '  default: { models: [gpt-4o-mini], routes: [/v1/chat/completions] }',
      'tools:',
      '  default: { allow: [mcp__everything__echo] }',
      'mcp:',
      '  servers:',
      '    everything: { url: "http://127.0.0.1:9/mcp" }',
    ].join('\n'));
    const engine = new Engine(policy, new MemoryStore());
    const identity = { user: 'alice@acme.dev', agent: 'default', session: 's', roles: [], issuer: 'tollgate' };
    const call = (tool: string): ModelCall => ({ provider: 'mcp', style: 'mcp', route: `everything/${tool}`, kind: 'tool', tool: `mcp__everything__${tool}`, stream: false, inputTokens: 0, choices: 1, texts: [] });
    const refused = await engine.decide({ identity, call: call('get-env') }, NOW);
    assert.equal(refused.outcome, 'refuse');
    assert.equal(refused.rule, 'tools');
    assert.match(refused.reason, /not entitled to tool 'mcp__everything__get-env'/);
    for (let i = 0; i < 2; i++) assert.equal((await engine.decide({ identity, call: call('echo') }, NOW)).outcome, 'allow');
    const limited = await engine.decide({ identity, call: call('echo') }, NOW);
    assert.equal(limited.outcome, 'refuse');
    assert.equal(limited.rule, 'everything-calls');
    assert.equal(limited.status, 429);
  });
});
