import assert from 'node:assert/strict';
import { countText } from '../../../src/engine/tokens/count';
import { callFor, parseTrafficLine, TrafficError } from '../../../src/simulate/traffic';
import { policyFrom, referenceText } from '../../helpers/policy';

// A traffic line becomes a request of its provider's style, built and counted by that style's adapter.

const policy = policyFrom(referenceText);

function line(o: object): ReturnType<typeof parseTrafficLine> & object {
  return parseTrafficLine(JSON.stringify({ time: '2026-11-23T12:00:00Z', user: 'bob@acme.dev', ...o }), 1)!;
}

describe('traffic lines as calls', () => {
  it('replays a line on /v1/completions as a prompt, counted as the proxy counts it', () => {
    const call = callFor(policy, line({ provider: 'openai', route: '/v1/completions', model: 'gpt-3.5-turbo-instruct', messages: [{ role: 'user', content: 'Say hi' }], max_tokens: 5 }), 1);
    assert.equal(call.kind, 'generate');
    assert.equal(call.inputTokens, countText('Say hi'));
    assert.equal(call.requestedOutputTokens, 5);
  });

  it("takes each style's own generating route when a line names none", () => {
    assert.equal(callFor(policy, line({ provider: 'anthropic', model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'hi' }] }), 1).route, '/v1/messages');
    assert.equal(callFor(policy, line({ provider: 'openai', model: 'gpt-4o-mini', input_tokens: 10 }), 1).route, '/v1/chat/completions');
  });

  it("holds an Anthropic line without max_tokens at the policy's reserve", () => {
    const call = callFor(policy, line({ provider: 'anthropic', model: 'claude-haiku-4-5', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }] }), 1);
    assert.equal(call.requestedOutputTokens, policy.guards.reserveOutputTokens);
  });

  it('reads an embeddings line given as counted tokens as an embedding, by its route kind', () => {
    const call = callFor(policy, line({ provider: 'openai', route: '/v1/embeddings', model: 'text-embedding-3-small', input_tokens: 10 }), 1);
    assert.equal(call.kind, 'embed');
    assert.equal(call.requestedOutputTokens, 0);
  });

  it('reads a line for an Azure provider through its deployment map', () => {
    const azure = policyFrom(referenceText.replace('providers:\n', 'providers:\n  azure: { upstream: https://acme.openai.azure.com, style: azure-openai, deployments: { my-mini: gpt-4o-mini } }\n'));
    const described = callFor(azure, line({ provider: 'azure', model: 'my-mini', messages: [{ role: 'user', content: 'hi' }] }), 1);
    assert.deepEqual({ route: described.route, model: described.model }, { route: '/openai/v1/chat/completions', model: 'gpt-4o-mini' });
    assert.equal(callFor(azure, line({ provider: 'azure', model: 'my-mini', input_tokens: 10 }), 1).model, 'gpt-4o-mini');
    assert.throws(() => callFor(azure, line({ provider: 'azure', model: 'other', messages: [{ role: 'user', content: 'hi' }] }), 2), (err: unknown) => TrafficError.is(err, 'request') && /deployment 'other'/.test(err.message));
  });

  it('names a provider that is not in the policy', () => {
    assert.throws(() => callFor(policy, line({ provider: 'mistral', model: 'm', input_tokens: 1 }), 3), (err: unknown) => TrafficError.is(err, 'provider') && err.line === 3);
  });
});
