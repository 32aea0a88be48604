import assert from 'node:assert/strict';
import type { ModelCall } from '../../../../src/contracts/call';
import { MalformedRequestError } from '../../../../src/contracts/call';
import { azureOpenAIAdapter as adapter } from '../../../../src/providers/azure-openai/adapter';
import { clientKeyOf } from '../../../../src/providers/client-key';
import { openaiAdapter } from '../../../../src/providers/openai/adapter';
import { adapterFor, styleOfPath } from '../../../../src/providers/registry';

const deployments = { 'my-gpt4o': 'gpt-4o', 'my-mini': 'gpt-4o-mini', 'mini-eu': 'gpt-4o-mini', 'my-embed': 'text-embedding-3-small' };
const settings = { deployments };

function call(route: string, body: Record<string, unknown>): ModelCall {
  return adapter.describe('azure', route, 'POST', body, settings);
}

const messages = [{ role: 'user', content: 'hi' }];

describe('azure-openai adapter', () => {
  it('is registered, and its paths are its own', () => {
    assert.equal(adapterFor('azure-openai'), adapter);
    assert.equal(styleOfPath('/openai/deployments/my-gpt4o/chat/completions'), 'azure-openai');
    assert.equal(styleOfPath('/openai/v1/responses'), 'azure-openai');
    assert.equal(styleOfPath('/v1/chat/completions'), 'openai');
  });

  describe('describe: the model is the deployment map\'s', () => {
    const cases: { name: string; route: string; body: Record<string, unknown>; model: string; kind: ModelCall['kind']; servedAs: Record<string, string> }[] = [
      { name: 'a deployment in the path (chat)', route: '/openai/deployments/my-gpt4o/chat/completions', body: { messages }, model: 'gpt-4o', kind: 'generate', servedAs: { 'gpt-4o': 'my-gpt4o' } },
      { name: 'the path wins over the body\'s model', route: '/openai/deployments/my-gpt4o/chat/completions', body: { model: 'my-mini', messages }, model: 'gpt-4o', kind: 'generate', servedAs: { 'gpt-4o': 'my-gpt4o' } },
      { name: 'a deployment in the path (completions)', route: '/openai/deployments/my-mini/completions', body: { prompt: 'hi' }, model: 'gpt-4o-mini', kind: 'generate', servedAs: { 'gpt-4o-mini': 'my-mini' } },
      { name: 'a deployment in the path (embeddings)', route: '/openai/deployments/my-embed/embeddings', body: { input: 'hi' }, model: 'text-embedding-3-small', kind: 'embed', servedAs: { 'text-embedding-3-small': 'my-embed' } },
      {
        name: 'the v1 API: the deployment in model, servable by every mapped model',
        route: '/openai/v1/chat/completions', body: { model: 'mini-eu', messages }, model: 'gpt-4o-mini', kind: 'generate',
        servedAs: { 'gpt-4o-mini': 'mini-eu', 'gpt-4o': 'my-gpt4o', 'text-embedding-3-small': 'my-embed' },
      },
      { name: 'the v1 responses API', route: '/openai/v1/responses', body: { model: 'my-gpt4o', input: 'hi' }, model: 'gpt-4o', kind: 'generate', servedAs: { 'gpt-4o': 'my-gpt4o', 'gpt-4o-mini': 'my-mini', 'text-embedding-3-small': 'my-embed' } },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const d = call(c.route, c.body);
        assert.deepEqual({ style: d.style, route: d.route, model: d.model, kind: d.kind, servedAs: d.servedAs }, { style: 'azure-openai', route: c.route, model: c.model, kind: c.kind, servedAs: c.servedAs });
      });
    }

    it('counts input as the OpenAI style does', () => {
      const body = { model: 'my-gpt4o', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello there' }], max_tokens: 50 };
      const azure = call('/openai/v1/chat/completions', body);
      const openai = openaiAdapter.describe('openai', '/v1/chat/completions', 'POST', { ...body, model: 'gpt-4o' });
      assert.equal(azure.inputTokens, openai.inputTokens);
      assert.equal(azure.requestedOutputTokens, 50);
    });

    it('refuses a deployment the map does not list, naming it and the provider', () => {
      for (const [route, body] of [['/openai/deployments/other/chat/completions', { messages }], ['/openai/v1/chat/completions', { model: 'other', messages }]] as const) {
        assert.throws(() => call(route, body), (err: unknown) => MalformedRequestError.is(err) && /deployment 'other'.*provider 'azure'.*my-gpt4o, my-mini/.test(err.message));
      }
      assert.throws(() => adapter.describe('azure', '/openai/v1/chat/completions', 'POST', { model: 'my-gpt4o', messages }), /lists: none/);
    });

    it('lists models without a deployment', () => {
      const d = adapter.describe('azure', '/openai/v1/models', 'GET', undefined);
      assert.equal(d.kind, 'passthrough');
      assert.equal(d.route, '/openai/v1/models');
    });
  });

  describe('rewrite (the OpenAI style\'s, at the OpenAI route)', () => {
    it('clamps the output and asks a stream for usage', () => {
      const body = { messages, max_tokens: 5000, stream: true };
      const r = adapter.rewrite(body, call('/openai/deployments/my-gpt4o/chat/completions', body), { model: 'gpt-4o', outputCap: 100 });
      assert.deepEqual(r.body, { messages, max_tokens: 100, stream: true, stream_options: { include_usage: true } });
      assert.equal(r.strippedUsage, true);
    });

    it('a downgrade on the v1 API is written as a deployment serving the new model', () => {
      const body = { model: 'my-gpt4o', messages };
      const r = adapter.rewrite(body, call('/openai/v1/chat/completions', body), { model: 'gpt-4o-mini' });
      assert.equal(r.body.model, 'my-mini');
    });

    it('leaves the deployment alone when the model is not changed', () => {
      const body = { model: 'mini-eu', messages };
      assert.equal(adapter.rewrite(body, call('/openai/v1/chat/completions', body), { model: 'gpt-4o-mini' }).body.model, 'mini-eu');
    });
  });

  it('reads the key from api-key or Bearer, and sends the upstream key in api-key', () => {
    assert.equal(clientKeyOf(adapter.clientKeys, { 'api-key': 'tok-1' }, ''), 'tok-1');
    assert.equal(clientKeyOf(adapter.clientKeys, { authorization: 'Bearer tok-2' }, ''), 'tok-2');
    assert.deepEqual(adapter.authHeaders('real'), { 'api-key': 'real' });
  });

  it('answers errors, usage and streams as OpenAI does', () => {
    assert.deepEqual(adapter.errorBody('context', 'why', { inputTokens: 9, maxInputTokens: 8 }), openaiAdapter.errorBody('context', 'why', { inputTokens: 9, maxInputTokens: 8 }));
    assert.deepEqual(adapter.errorBody('rate-limit', 'why'), openaiAdapter.errorBody('rate-limit', 'why'));
    const usage = { usage: { prompt_tokens: 11, completion_tokens: 7 } };
    assert.deepEqual(adapter.usageFromBody(usage), openaiAdapter.usageFromBody(usage));
    const tap = adapter.streamTap(false);
    tap.event(JSON.stringify({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 2 } }));
    assert.equal(tap.reading.input, 3);
    assert.equal(tap.reading.output, 2);
  });

  it('builds requests for its routes and names what its SDKs read', () => {
    assert.deepEqual(adapter.requestFor('/openai/v1/embeddings', { model: 'my-embed', messages, reserveOutputTokens: 0 }), { model: 'my-embed', input: ['hi'] });
    const env = adapter.sdkEnvironment('http://127.0.0.1:4100/azure-openai', 'tok');
    assert.deepEqual(env.baseUrl, { name: 'AZURE_OPENAI_ENDPOINT', value: 'http://127.0.0.1:4100/azure-openai' });
    assert.deepEqual(env.apiKey, { name: 'AZURE_OPENAI_API_KEY', value: 'tok' });
    assert.equal(env.others?.[0]?.name, 'OPENAI_API_VERSION');
    assert.deepEqual(adapter.keyRules, ['azure-openai-key']);
  });
});
