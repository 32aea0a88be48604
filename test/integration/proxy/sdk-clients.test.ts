import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { MockUpstream } from '../../helpers/mock-upstream';
import { referenceText } from '../../helpers/policy';
import { eventually } from '../../helpers/poll';
import { startTestProxy, UPSTREAM_KEY } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';

describe('proxy with the official SDKs', () => {
  let mock: MockUpstream;
  let proxy: TestProxy;
  let openai: OpenAI;
  let anthropic: Anthropic;

  before(async () => {
    mock = new MockUpstream();
    // The reference bundle plus the count_tokens route, which it does not list.
    const policyText = referenceText
      .replace('/v1/messages, /v1/embeddings', '/v1/messages, /v1/messages/count_tokens, /v1/embeddings')
      .replace('  gpt-4o-mini:       { input: 0.15, output: 0.60 }\n', '  gpt-4o-mini:       { input: 0.15, output: 0.60 }\n  text-embedding-3-small: { input: 0.02, output: 0 }\n');
    proxy = await startTestProxy(await mock.start(), { policyText });
    const token = await proxy.token('Bob@acme.dev', { agent: 'notebook' });
    openai = new OpenAI({ apiKey: token, baseURL: `${proxy.url}/openai/v1`, maxRetries: 0 });
    anthropic = new Anthropic({ apiKey: token, baseURL: `${proxy.url}/anthropic`, maxRetries: 0 });
  });
  after(async () => {
    await proxy.stop();
    await mock.stop();
  });

  it('passes a chat completion through and swaps the token for the real key', async () => {
    const { data, response } = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    assert.equal(data.choices[0]!.message.content, 'Hello from the mock');
    const seen = mock.last();
    assert.equal(seen.headers.authorization, `Bearer ${UPSTREAM_KEY}`);
    assert.equal(seen.headers['x-tollgate-user'], 'bob@acme.dev');
    assert.equal(seen.headers['x-tollgate-agent'], 'notebook');
    assert.ok(seen.headers['x-tollgate-session']);
    assert.match(String(seen.body!.user), /^tg-[0-9a-f]{32}$/, 'the end-user field is a pseudonym');
    assert.ok(!JSON.stringify(seen).includes('bob@acme.dev"') || seen.body!.user !== 'bob@acme.dev');
    assert.match(response.headers.get('x-tollgate-decision') ?? '', /^[0-9A-Z]{26}$/);
    assert.equal(response.headers.get('x-tollgate-ratelimit-remaining-requests'), '19');
    assert.ok(Number(response.headers.get('x-tollgate-ratelimit-remaining-tokens')) > 0);
    assert.ok(Number(response.headers.get('x-tollgate-ratelimit-remaining-usd')) > 0);
    assert.ok(!JSON.stringify(data).includes(UPSTREAM_KEY));
  });

  it('streams a chat completion chunk by chunk, reading usage it asked for without showing it', async () => {
    // The upstream sends each next chunk only once the client holds the one before: a proxy that
    // buffered the stream would never finish, whatever the machine's speed.
    let received = 0;
    const waiting = new Map<number, () => void>();
    const gate = (sent: number): Promise<void> => (received >= sent ? Promise.resolve() : new Promise((r) => waiting.set(sent, r)));
    mock.next.push({ kind: 'stream', chunks: 5, intervalMs: 0, gate });
    const { data: stream, response } = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'count' }], stream: true }).withResponse();
    let text = '';
    let sawUsage = false;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage || chunk.choices.length === 0 || 'usage' in chunk) sawUsage = true;
      received++;
      waiting.get(received)?.();
    }
    assert.equal(text, 'word word word word word ');
    assert.equal(sawUsage, false, 'the client gets exactly the stream it asked for');
    assert.deepEqual(mock.last().body!.stream_options, { include_usage: true });
    const id = response.headers.get('x-tollgate-decision');
    await eventually(async () => (await proxy.records()).some((r) => r.kind === 'settle' && r.decision === id), 'settle');
    const settle = (await proxy.records()).find((r) => r.kind === 'settle' && r.decision === id);
    assert.ok(settle?.kind === 'settle');
    if (settle?.kind === 'settle') assert.deepEqual(settle.usage, { input_tokens: mock.inputTokens, output_tokens: 5 });
  });

  it('passes the usage chunk through when the client asked for it', async () => {
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], stream: true, stream_options: { include_usage: true } });
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    assert.equal(usage?.completion_tokens, 3);
  });

  it('settles the Responses API stream from its completed event', async () => {
    const { data: stream, response } = await openai.responses.create({ model: 'gpt-4o-mini', input: 'hello', stream: true }).withResponse();
    let done = false;
    for await (const ev of stream) if (ev.type === 'response.completed') done = true;
    assert.ok(done);
    const id = response.headers.get('x-tollgate-decision');
    await eventually(async () => (await proxy.records()).some((r) => r.kind === 'settle' && r.decision === id), 'settle');
    const settle = (await proxy.records()).find((r) => r.kind === 'settle' && r.decision === id);
    if (settle?.kind === 'settle') assert.deepEqual(settle.usage, { input_tokens: mock.inputTokens, output_tokens: 3 });
  });

  it('handles embeddings and lists models', async () => {
    // Bob's role (ml-engineers) is entitled to every model.
    const e = await openai.embeddings.create({ model: 'text-embedding-3-small', input: 'abc', encoding_format: 'float' });
    assert.deepEqual(e.data[0]!.embedding, [0.1, 0.2]);
    assert.equal(mock.last().body!.user !== undefined, true);
    const models = await openai.models.list();
    assert.equal(models.data[0]!.id, 'gpt-4o-mini');
  });

  it('passes an Anthropic message through, key in x-api-key, pseudonym in metadata.user_id', async () => {
    const msg = await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(msg.content[0]!.type, 'text');
    const seen = mock.last();
    assert.equal(seen.headers['x-api-key'], UPSTREAM_KEY);
    assert.equal(seen.headers.authorization, undefined, 'the client token never reaches the provider');
    assert.ok(seen.headers['anthropic-version']);
    assert.match(String((seen.body!.metadata as { user_id: string }).user_id), /^tg-[0-9a-f]{32}$/);
  });

  it('streams an Anthropic message and settles its reported usage', async () => {
    const stream = anthropic.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
    const final = await stream.finalMessage();
    assert.equal(final.usage.output_tokens, 3);
    await eventually(async () => {
      const s = (await proxy.records()).filter((r) => r.kind === 'settle').pop();
      return s?.kind === 'settle' && s.usage.output_tokens === 3 && s.usage.input_tokens === mock.inputTokens;
    }, 'anthropic stream settle');
  });

  it('accepts the token in x-api-key as well as Authorization for either provider', async () => {
    const token = await proxy.token('carol@acme.dev');
    for (const [path, body] of [
      ['/anthropic/v1/messages', { model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }],
      ['/openai/v1/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }],
    ] as const) {
      const viaKey = await fetch(`${proxy.url}${path}`, { method: 'POST', headers: { 'x-api-key': token, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body: JSON.stringify(body) });
      assert.equal(viaKey.status, 200, path);
      const viaBearer = await fetch(`${proxy.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body: JSON.stringify(body) });
      assert.equal(viaBearer.status, 200, path);
    }
  });

  it('counts tokens through Anthropic count_tokens without charging tokens', async () => {
    const r = await anthropic.messages.countTokens({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.input_tokens, mock.inputTokens);
  });

  it('never writes the upstream key into the ledger or the log', async () => {
    const all = JSON.stringify(await proxy.records());
    assert.ok(!all.includes(UPSTREAM_KEY));
    assert.ok(!proxy.logs().includes(UPSTREAM_KEY));
  });
});

describe('proxy with an OpenAI-compatible upstream named in the bundle', () => {
  it('routes /local/... to it in the OpenAI wire format, without a key when the bundle names none', async () => {
    const mock = new MockUpstream();
    const upstream = await mock.start();
    const policyText = referenceText.replace(
      '  anthropic: { upstream: https://api.anthropic.com, style: anthropic, key_env: ANTHROPIC_API_KEY }\n',
      '  anthropic: { upstream: https://api.anthropic.com, style: anthropic, key_env: ANTHROPIC_API_KEY }\n  local:     { upstream: http://127.0.0.1:11434,   style: openai }\n',
    ).replace('prices:\n', 'prices:\n  default:           { input: 0, output: 0 }   # models served locally cost nothing\n');
    const proxy = await startTestProxy(upstream, { policyText });
    try {
      const client = new OpenAI({ apiKey: await proxy.token('bob@acme.dev'), baseURL: `${proxy.url}/local/v1`, maxRetries: 0 });
      const r = await client.chat.completions.create({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(r.choices[0]!.message.content, 'Hello from the mock');
      const seen = mock.last();
      assert.equal(seen.url, '/v1/chat/completions');
      assert.equal(seen.headers.authorization, undefined, 'no key is invented for a keyless local server');
      assert.equal(seen.headers['x-tollgate-user'], 'bob@acme.dev');
    } finally {
      await proxy.stop();
      await mock.stop();
    }
  });
});
