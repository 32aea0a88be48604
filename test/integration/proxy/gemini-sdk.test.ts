import assert from 'node:assert/strict';
import { ApiError, GoogleGenAI } from '@google/genai';
import { refusalAnswer } from '../../../src/contracts/refusal';
import type { SettleRecord } from '../../../src/contracts/audit-records';
import { MockUpstream } from '../../helpers/mock-upstream';
import { referenceText } from '../../helpers/policy';
import { eventually } from '../../helpers/poll';
import { startTestProxy, UPSTREAM_KEY } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';

// The reference bundle's Gemini lines, with prices for the flash model the tests call (the
// shipped catalogue prices it too; the bundle's entry overrides it) and a context cap small enough
// to reach with a short prompt.
const policyText = referenceText
  .replace('\nprices:\n', '\nprices:\n  gemini-2.5-flash: { input: 0.30, output: 2.50 }\n  gemini-2.5-pro: { input: 1.25, output: 10.00 }\n')
  .replace(/max_input_tokens: 100000 /, 'max_input_tokens: 2000 ');

/** A client of the official SDK on the proxy, as GOOGLE_GEMINI_BASE_URL points it there. */
function client(proxy: TestProxy, apiKey: string): GoogleGenAI {
  return new GoogleGenAI({ apiKey, httpOptions: { baseUrl: `${proxy.url}/gemini` } });
}

async function refusal(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ApiError, `the SDK raises its ApiError, not ${String(err)}`);
    return err;
  }
  assert.fail('the call was not refused');
}

describe('proxy with the official Gemini SDK (@google/genai)', () => {
  let mock: MockUpstream;
  let proxy: TestProxy;
  let token: string;
  let ai: GoogleGenAI;

  before(async () => {
    assert.notEqual(policyText, referenceText);
    assert.match(policyText, /max_input_tokens: 2000 /);
    mock = new MockUpstream();
    proxy = await startTestProxy(await mock.start(), { policyText });
    // A person with the default entitlements (Bob's role may call any model, with a larger cap).
    token = await proxy.token('Dev@acme.dev', { agent: 'notebook' });
    ai = client(proxy, token);
  });
  after(async () => {
    await proxy.stop();
    await mock.stop();
  });

  async function settleOf(decision: string | null): Promise<SettleRecord> {
    let found: SettleRecord | undefined;
    await eventually(async () => {
      found = (await proxy.records()).find((r): r is SettleRecord => r.kind === 'settle' && r.decision === decision);
      return found !== undefined;
    }, `the settle record of ${decision}`);
    return found!;
  }

  it('passes generateContent through, with the real key in x-goog-api-key and the output cap set', async () => {
    const r = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Say hello.' });
    assert.equal(r.text, 'Hello from the mock');
    const seen = mock.last();
    assert.equal(seen.url, '/v1beta/models/gemini-2.5-flash:generateContent');
    assert.equal(seen.headers['x-goog-api-key'], UPSTREAM_KEY);
    assert.equal(seen.headers['x-tollgate-user'], 'dev@acme.dev');
    assert.equal(seen.headers['x-tollgate-agent'], 'notebook');
    // The entitlement's max_output_tokens, set where the request asked for none.
    assert.deepEqual(seen.body!.generationConfig, { maxOutputTokens: 8192 });
    for (const s of mock.seen) assert.ok(!JSON.stringify(s).includes(token.slice(-24)), 'the session token never reached the upstream');
    const decision = r.sdkHttpResponse?.headers?.['x-tollgate-decision'] ?? null;
    const settle = await settleOf(decision);
    assert.deepEqual(settle.usage, { input_tokens: mock.inputTokens, output_tokens: mock.outputTokens });
    assert.ok(settle.usd > 0, 'priced');
  });

  it('streams generateContentStream as server-sent events and settles the last chunk\'s usage', async () => {
    const stream = await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'Count.', config: { maxOutputTokens: 100 } });
    let text = '';
    let decision: string | null = null;
    for await (const chunk of stream) {
      text += chunk.text ?? '';
      decision ??= chunk.sdkHttpResponse?.headers?.['x-tollgate-decision'] ?? null;
    }
    assert.equal(text, 'word word word ');
    const seen = mock.last();
    assert.equal(seen.url, '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    assert.deepEqual(seen.body!.generationConfig, { maxOutputTokens: 100 });
    const settles = (await proxy.records()).filter((r): r is SettleRecord => r.kind === 'settle');
    const settle = decision ? await settleOf(decision) : settles[settles.length - 1]!;
    assert.deepEqual(settle.usage, { input_tokens: mock.inputTokens, output_tokens: 3 });
  });

  it('relays a stream asked for without alt=sse (one JSON array) and settles its usage', async () => {
    const r = await fetch(`${proxy.url}/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?key=${encodeURIComponent(token)}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
    });
    assert.equal(r.status, 200);
    const chunks = (await r.json()) as unknown[];
    assert.equal(chunks.length, 2);
    assert.equal(mock.last().url, '/v1beta/models/gemini-2.5-flash:streamGenerateContent', 'the key in ?key= stays behind');
    const settle = await settleOf(r.headers.get('x-tollgate-decision'));
    assert.deepEqual(settle.usage, { input_tokens: mock.inputTokens, output_tokens: mock.outputTokens });
  });

  it('counts tokens, free', async () => {
    const r = await ai.models.countTokens({ model: 'gemini-2.5-flash', contents: 'How many tokens is this?' });
    assert.equal(r.totalTokens, mock.inputTokens);
    assert.equal(mock.last().url, '/v1beta/models/gemini-2.5-flash:countTokens');
  });

  it('lists models and gets one, passed through', async () => {
    const pager = await ai.models.list();
    const names: string[] = [];
    for await (const m of pager) names.push(m.name ?? '');
    assert.deepEqual(names, ['models/gemini-2.5-flash']);
    const one = await ai.models.get({ model: 'gemini-2.5-flash' });
    assert.equal(one.name, 'models/gemini-2.5-flash');
  });

  it('raises ApiError 403 PERMISSION_DENIED for a model outside the entitlement, before the upstream', async () => {
    const before = mock.seen.length;
    const err = await refusal(ai.models.generateContent({ model: 'gemini-2.5-pro', contents: 'hi' }));
    assert.equal(err.status, 403);
    assert.match(err.message, /PERMISSION_DENIED/);
    assert.match(err.message, /not entitled to model 'gemini-2\.5-pro'/);
    assert.equal(mock.seen.length, before);
  });

  it('raises ApiError 401 UNAUTHENTICATED for a key that is not a session token', async () => {
    const err = await refusal(client(proxy, 'not-a-token').models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }));
    assert.equal(err.status, 401);
    assert.match(err.message, /UNAUTHENTICATED/);
  });

  it('answers a prompt over the context cap as Google answers one over the window: INVALID_ARGUMENT, naming the team\'s cap', async () => {
    const err = await refusal(ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'word '.repeat(3000) }));
    assert.equal(err.status, refusalAnswer('context').status);
    assert.match(err.message, /INVALID_ARGUMENT/);
    assert.match(err.message, /The input token count \(\d+\) exceeds the maximum number of tokens allowed \(2000\)\./);
    assert.match(err.message, /the team's cap, not the model's/);
  });
});

describe('a downgrade of a Gemini call, through the proxy', () => {
  let mock: MockUpstream;
  let proxy: TestProxy;

  before(async () => {
    mock = new MockUpstream();
    const upstream = await mock.start();
    proxy = await startTestProxy(upstream, {
      policyText: `version: 1
name: gemini-downgrade
providers:
  gemini: { upstream: "${upstream}", style: gemini, key_env: GEMINI_API_KEY }
identity:
  required: true
prices:
  gemini-2.5-pro: { input: 1000, output: 1000 }
  gemini-2.5-flash: { input: 0.30, output: 2.50 }
budgets:
  - id: daily
    per: user
    period: day
    limit_usd: 1
    on_exceed: downgrade
    downgrade_to: gemini-2.5-flash
entitlements:
  default:
    models: ["*"]
`,
    });
  });
  after(async () => {
    await proxy.stop();
    await mock.stop();
  });

  it('sends the served model in the path, where Google reads it', async () => {
    const ai = client(proxy, await proxy.token('carol@acme.dev'));
    const r = await ai.models.generateContent({ model: 'gemini-2.5-pro', contents: 'hi', config: { maxOutputTokens: 2000 } });
    assert.equal(r.text, 'Hello from the mock');
    assert.equal(mock.last().url, '/v1beta/models/gemini-2.5-flash:generateContent');
  });
});
