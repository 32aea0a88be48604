import assert from 'node:assert/strict';
import OpenAI, { AzureOpenAI } from 'openai';
import type { DecisionRecord, SettleRecord } from '../../../src/contracts/audit-records';
import { MockUpstream } from '../../helpers/mock-upstream';
import { eventually } from '../../helpers/poll';
import { startTestProxy, UPSTREAM_KEY } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';
import { azureOpenAIMock } from '../../providers/azure-openai/mock';

// The openai package's AzureOpenAI client through the proxy: it names deployments, puts its key in
// api-key and an api-version in the query; the bundle's deployment map tells the engine the model.

const API_VERSION = '2024-10-21';

function bundle(upstream: string, dailyUsd = 5): string {
  return `version: 1
name: azure-sdk
providers:
  azure-openai:
    upstream: "${upstream}"
    style: azure-openai
    key_env: AZURE_OPENAI_API_KEY
    deployments: { my-gpt4o: gpt-4o, my-mini: gpt-4o-mini, my-embed: text-embedding-3-small }
identity:
  required: true
  roles:
    bob@acme.dev: [ml-engineers]
prices:
  gpt-4o: { input: 2.50, output: 10.00 }
  gpt-4o-mini: { input: 0.15, output: 0.60 }
  text-embedding-3-small: { input: 0.02, output: 0 }
budgets:
  - id: user-daily
    per: user
    period: day
    limit_usd: ${dailyUsd}
    on_exceed: downgrade
    downgrade_to: gpt-4o-mini
entitlements:
  default:
    models: [gpt-4o-mini, text-embedding-3-small]
    max_input_tokens: 2000
  roles:
    ml-engineers:
      models: ["*"]
      max_input_tokens: 2000
`;
}

describe('Azure OpenAI through the proxy, with the AzureOpenAI client', () => {
  let mock: MockUpstream;
  let upstream: string;
  let p: TestProxy;
  const savedBaseUrl = process.env.OPENAI_BASE_URL;

  before(async () => {
    // The client reads OPENAI_BASE_URL before its endpoint, and refuses both at once.
    delete process.env.OPENAI_BASE_URL;
    mock = new MockUpstream([azureOpenAIMock]);
    upstream = await mock.start();
  });
  after(async () => {
    await mock.stop();
    if (savedBaseUrl !== undefined) process.env.OPENAI_BASE_URL = savedBaseUrl;
  });

  async function withProxy(text: string, run: () => Promise<void>): Promise<void> {
    const at = Date.now() + 60_000;
    p = await startTestProxy(upstream, { policyText: text, clock: () => at, env: { AZURE_OPENAI_API_KEY: UPSTREAM_KEY } });
    try {
      await run();
    } finally {
      await p.stop();
    }
  }

  async function client(user: string): Promise<AzureOpenAI> {
    return new AzureOpenAI({ endpoint: `${p.url}/azure-openai`, apiKey: await p.token(user), apiVersion: API_VERSION, maxRetries: 0 });
  }

  async function decision(id: string | null): Promise<DecisionRecord> {
    const rec = (await p.records()).find((r): r is DecisionRecord => r.kind === 'decision' && r.id === id);
    assert.ok(rec, `decision ${id}`);
    return rec;
  }

  async function settled(id: string | null): Promise<SettleRecord> {
    let found: SettleRecord | undefined;
    await eventually(async () => {
      found = (await p.records()).find((r): r is SettleRecord => r.kind === 'settle' && r.decision === id);
      return found !== undefined;
    }, `the settle record of ${id}`);
    return found!;
  }

  it('chat, streaming and embeddings: the deployment map names the model, the upstream sees the real key and the api-version', () =>
    withProxy(bundle(upstream), async () => {
      const azure = await client('carol@acme.dev');
      const { data, response } = await azure.chat.completions.create({ model: 'my-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 }).withResponse();
      assert.equal(data.choices[0]?.message.content, 'Hello from the mock');
      const seen = mock.last();
      assert.equal(seen.url, `/openai/deployments/my-mini/chat/completions?api-version=${API_VERSION}`);
      assert.equal(seen.headers['api-key'], UPSTREAM_KEY);
      assert.equal(seen.headers.authorization, undefined);
      const rec = await decision(response.headers.get('x-tollgate-decision'));
      assert.deepEqual({ provider: rec.provider, route: rec.route, model: rec.model, outcome: rec.outcome }, { provider: 'azure-openai', route: '/openai/deployments/my-mini/chat/completions', model: 'gpt-4o-mini', outcome: 'allow' });
      const s = await settled(rec.id);
      assert.ok(s.usd > 0, 'priced as gpt-4o-mini');

      const stream = await azure.chat.completions.create({ model: 'my-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20, stream: true }).withResponse();
      let text = '';
      for await (const chunk of stream.data) text += chunk.choices[0]?.delta.content ?? '';
      assert.equal(text, 'word word word ');
      const streamed = await settled(stream.response.headers.get('x-tollgate-decision'));
      assert.equal(streamed.usage.output_tokens, 3);

      const embedded = await azure.embeddings.create({ model: 'my-embed', input: 'hello' }).withResponse();
      assert.equal(embedded.data.data.length, 1);
      assert.equal(mock.last().url, `/openai/deployments/my-embed/embeddings?api-version=${API_VERSION}`);
      assert.equal((await decision(embedded.response.headers.get('x-tollgate-decision'))).model, 'text-embedding-3-small');

      // The token never reaches the upstream, in any header or the target.
      const token = await p.token('carol@acme.dev');
      for (const s of mock.seen) assert.ok(!JSON.stringify([s.url, s.headers]).includes(token.slice(-24)));
    }));

  it('refuses a model outside the entitlement (PermissionDeniedError), an unmapped deployment (naming it) and a prompt over the context cap (context_length_exceeded)', () =>
    withProxy(bundle(upstream), async () => {
      const azure = await client('carol@acme.dev');
      const before = mock.seen.length;
      const denied = await azure.chat.completions.create({ model: 'my-gpt4o', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
      assert.ok(denied instanceof OpenAI.PermissionDeniedError, String(denied));
      assert.match(denied.message, /not entitled to model 'gpt-4o'/);

      const unmapped = await azure.chat.completions.create({ model: 'nobody', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
      assert.ok(unmapped instanceof OpenAI.BadRequestError, String(unmapped));
      assert.match(unmapped.message, /deployment 'nobody' is not one provider 'azure-openai' lists/);

      const long = await azure.chat.completions.create({ model: 'my-mini', messages: [{ role: 'user', content: 'word '.repeat(3000) }] }).catch((e: unknown) => e);
      assert.ok(long instanceof OpenAI.BadRequestError, String(long));
      assert.equal(long.code, 'context_length_exceeded');
      assert.match(long.message, /This model's maximum context length is 2000 tokens\. However, your messages resulted in \d+ tokens\./);
      assert.equal(long.headers?.get('x-tollgate-rule'), 'entitlements.max_input_tokens');
      assert.equal(mock.seen.length, before, 'no refused call reaches the upstream');
    }));

  it('a downgrade on the v1 API is sent to a deployment serving the cheaper model; a deployment in the path is refused instead', () =>
    withProxy(bundle(upstream, 0.002), async () => {
      const token = await p.token('bob@acme.dev');
      const v1 = new OpenAI({ baseURL: `${p.url}/azure-openai/openai/v1`, apiKey: token, maxRetries: 0 });
      await v1.chat.completions.create({ model: 'my-gpt4o', messages: [{ role: 'user', content: 'x' }], max_tokens: 100 });
      assert.equal(mock.last().url, '/openai/v1/chat/completions');
      assert.equal(mock.last().headers['api-key'], UPSTREAM_KEY);
      const { response } = await v1.chat.completions.create({ model: 'my-gpt4o', messages: [{ role: 'user', content: 'x' }], max_tokens: 300 }).withResponse();
      assert.equal(response.headers.get('x-tollgate-model-served'), 'gpt-4o-mini');
      assert.equal(mock.last().body!.model, 'my-mini', 'the deployment that serves gpt-4o-mini');
      const rec = await decision(response.headers.get('x-tollgate-decision'));
      assert.deepEqual({ outcome: rec.outcome, model: rec.model, served: rec.model_served }, { outcome: 'downgrade', model: 'gpt-4o', served: 'gpt-4o-mini' });

      const azure = new AzureOpenAI({ endpoint: `${p.url}/azure-openai`, apiKey: token, apiVersion: API_VERSION, maxRetries: 0 });
      const refused = await azure.chat.completions.create({ model: 'my-gpt4o', messages: [{ role: 'user', content: 'x' }], max_tokens: 300 }).catch((e: unknown) => e);
      assert.ok(refused instanceof OpenAI.RateLimitError, String(refused));
      assert.equal(refused.headers?.get('x-tollgate-rule'), 'user-daily');
    }));
});
