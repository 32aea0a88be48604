import assert from 'node:assert/strict';
import * as net from 'node:net';
import OpenAI from 'openai';
import { MockUpstream } from '../../helpers/mock-upstream';
import { eventually } from '../../helpers/poll';
import { startTestProxy, UPSTREAM_KEY } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';

/** Sends raw bytes to the proxy and returns the status line and headers it answers with. */
function rawRequest(url: string, text: string, o: { waitMs?: number } = {}): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(text));
    let out = '';
    socket.on('data', (c) => (out += c.toString()));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
    setTimeout(() => {
      socket.destroy();
      resolve(out);
    }, o.waitMs ?? 3_000).unref();
  });
}

describe('proxy failures: every bad input answered, nothing leaked', () => {
  let mock: MockUpstream;
  let p: TestProxy;
  let token: string;
  let upstreamUrl: string;
  const post = (path: string, body: string, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${p.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers }, body });

  before(async () => {
    mock = new MockUpstream();
    upstreamUrl = await mock.start();
    p = await startTestProxy(upstreamUrl, { maxBodyBytes: 64 * 1024, headerTimeoutMs: 500, bodyTimeoutMs: 800 });
    token = await p.token('bob@acme.dev');
  });
  after(async () => {
    await p.stop();
    await mock.stop();
  });

  /** The accumulators of bob's tokens and spend hold nothing once every call has settled. */
  async function nothingHeld(): Promise<void> {
    const s = await p.state();
    const tokens = s.accumulators.find((a) => a.rule === 'user-tokens' && a.key === 'user:bob@acme.dev');
    const usd = s.accumulators.find((a) => a.rule === 'user-daily' && a.key === 'user:bob@acme.dev');
    assert.equal(tokens?.used ?? 0, 0, 'no tokens held');
    assert.equal(usd?.used ?? 0, 0, 'no spend held');
  }

  it('answers malformed JSON with 400 and a clear message, recorded', async () => {
    const r = await post('/openai/v1/chat/completions', '{"model": "gpt-4o-mini", "messages": [');
    assert.equal(r.status, 400);
    const body = (await r.json()) as { error: { message: string; type: string } };
    assert.match(body.error.message, /not valid JSON/);
    assert.equal(body.error.type, 'invalid_request_error');
    assert.ok(r.headers.get('x-tollgate-decision'));
    const missing = await post('/openai/v1/chat/completions', JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }));
    assert.equal(missing.status, 400);
    assert.match(((await missing.json()) as { error: { message: string } }).error.message, /"model" is required/);
  });

  it('answers a body nested too deeply to count with 400, not a hung request', async () => {
    const depth = 200_000;
    const body = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x","tool_calls":${'['.repeat(depth)}${']'.repeat(depth)}}]}`;
    const q = await startTestProxy(upstreamUrl, { maxBodyBytes: 1024 * 1024 });
    try {
      const r = await fetch(`${q.url}/openai/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${await q.token('bob@acme.dev')}`, 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(5_000),
      });
      assert.equal(r.status, 400);
      assert.match(((await r.json()) as { error: { message: string } }).error.message, /nested too deeply/);
    } finally {
      await q.stop();
    }
  });

  it('answers a body over the limit with 413 without reading it all', async () => {
    const r = await post('/openai/v1/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(100 * 1024) }] }));
    assert.equal(r.status, 413);
    const chunked = await rawRequest(p.url, `POST /openai/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nTransfer-Encoding: chunked\r\n\r\n${'10000\r\n' + 'y'.repeat(0x10000) + '\r\n'}${'10000\r\n' + 'y'.repeat(0x10000)}`);
    assert.match(chunked, /^HTTP\/1\.1 413/);
  });

  it('answers an unknown provider with 404 and a path escape attempt with 400', async () => {
    const r = await post('/nope/v1/chat/completions', '{}');
    assert.equal(r.status, 404);
    assert.match(((await r.json()) as { error: { message: string } }).error.message, /no provider 'nope'/);
    for (const path of ['/openai/../anthropic/v1/messages', '/openai/v1/%2e%2e/admin', '/openai/v1%2fchat/completions', '/openai//v1/chat/completions', '/openai/v1/chat\\completions']) {
      const raw = await rawRequest(p.url, `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
      assert.match(raw, /^HTTP\/1\.1 400/, path);
    }
    assert.equal(mock.seen.filter((s) => s.url.includes('admin') || s.url.includes('..')).length, 0);
  });

  it('answers 502 when the upstream is unreachable, and leaks no reservation', async () => {
    const q = await startTestProxy('http://127.0.0.1:9', {});
    try {
      const client = new OpenAI({ apiKey: await q.token('bob@acme.dev'), baseURL: `${q.url}/openai/v1`, maxRetries: 0 });
      const err = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
      assert.ok(err instanceof OpenAI.APIError);
      assert.equal(err.status, 502);
      assert.match(err.message, /unreachable/);
      const s = await q.state();
      assert.equal(s.accumulators.find((a) => a.rule === 'user-tokens')?.used, 0);
      await eventually(async () => (await q.records()).some((r) => r.kind === 'settle' && r.status === 502), 'settle 502');
    } finally {
      await q.stop();
    }
  });

  it('answers 504 when the upstream does not answer in time, and settles the call at what it held (unknown is not zero)', async () => {
    mock.next.push({ kind: 'hang' });
    const r = await fetch(`${p.url}/openai/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${await p.token('carol@acme.dev')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], max_tokens: 50 }),
    });
    assert.equal(r.status, 504);
    const id = r.headers.get('x-tollgate-decision');
    await eventually(async () => (await p.records()).some((x) => x.kind === 'settle' && x.decision === id), 'settle 504');
    const records = await p.records();
    const decision = records.find((x) => x.id === id);
    const settle = records.find((x) => x.kind === 'settle' && x.decision === id);
    assert.ok(decision?.kind === 'decision' && settle?.kind === 'settle');
    assert.equal(settle.status, 504);
    assert.deepEqual(settle.usage, { input_tokens: null, output_tokens: null }, 'the provider never said what it used');
    assert.equal(settle.usd, decision.reserved.usd, 'the request reached the provider, so it is charged at its worst case');
    const tokens = (await p.state()).accumulators.find((a) => a.rule === 'user-tokens' && a.key === 'user:carol@acme.dev');
    assert.equal(tokens?.used, decision.reserved.input_tokens + decision.reserved.output_tokens);
  });

  it('passes an upstream 5xx through unchanged and charges no tokens for it', async () => {
    mock.next.push({ kind: 'status', status: 503, body: { error: { message: 'overloaded', type: 'server_error' } } });
    const r = await post('/openai/v1/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }));
    assert.equal(r.status, 503);
    assert.deepEqual(await r.json(), { error: { message: 'overloaded', type: 'server_error' } });
    await eventually(async () => (await p.records()).some((x) => x.kind === 'settle' && x.status === 503), 'settle 503');
    await nothingHeld();
  });

  it('stops the upstream call when the client aborts a stream, and charges what was produced', async () => {
    mock.next.push({ kind: 'stream', chunks: 200, intervalMs: 20 });
    const closedBefore = mock.closedEarly;
    const client = new OpenAI({ apiKey: token, baseURL: `${p.url}/openai/v1`, maxRetries: 0 });
    const controller = new AbortController();
    const { data: stream, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'go' }], stream: true }, { signal: controller.signal }).withResponse();
    let n = 0;
    try {
      for await (const chunk of stream) {
        if (chunk && ++n === 3) controller.abort();
      }
    } catch {
      // The SDK may end the iteration or throw its abort error; either way the client left.
    }
    assert.equal(n, 3, 'the client stopped reading after three chunks');
    await eventually(() => mock.closedEarly > closedBefore, 'the upstream request to be closed');
    const id = response.headers.get('x-tollgate-decision');
    await eventually(async () => (await p.records()).some((x) => x.kind === 'settle' && x.decision === id), 'settle of the aborted call');
    const settle = (await p.records()).find((x) => x.kind === 'settle' && x.decision === id);
    assert.ok(settle?.kind === 'settle');
    if (settle?.kind === 'settle') {
      assert.equal(settle.aborted, true);
      assert.ok(settle.usage.output_tokens! >= 3 && settle.usage.output_tokens! < 200, `charged ${settle.usage.output_tokens} output tokens`);
    }
    await nothingHeld().catch(() => undefined);
    const s = await p.state();
    const tokens = s.accumulators.find((a) => a.rule === 'user-tokens' && a.key === 'user:bob@acme.dev')!;
    assert.ok(tokens.used < 4096, 'the reservation was released; only what was produced stays');
  });

  it('settles what was produced when the upstream dies mid-stream', async () => {
    mock.next.push({ kind: 'stream', chunks: 50, intervalMs: 5, dieAfter: 4 });
    const r = await post('/anthropic/v1/messages', JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 1000, stream: true, messages: [{ role: 'user', content: 'x' }] }), { 'anthropic-version': '2023-06-01' });
    assert.equal(r.status, 200);
    await r.text().catch(() => '');
    const id = r.headers.get('x-tollgate-decision');
    await eventually(async () => (await p.records()).some((x) => x.kind === 'settle' && x.decision === id), 'settle');
    const settle = (await p.records()).find((x) => x.kind === 'settle' && x.decision === id);
    assert.ok(settle?.kind === 'settle' && settle.aborted === true);
    if (settle?.kind === 'settle') {
      assert.equal(settle.usage.input_tokens, mock.inputTokens, 'input from message_start');
      assert.ok(settle.usage.output_tokens! > 0 && settle.usage.output_tokens! < 1000);
    }
  });

  it('times out a slowloris client that never finishes its headers or body', async () => {
    const headers = await rawRequest(p.url, `POST /openai/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n`, { waitMs: 8_000 });
    // Node closes a connection whose headers never end within requestTimeout; nothing or a 408 comes back.
    assert.ok(headers === '' || /^HTTP\/1\.1 408/.test(headers), headers);
    const body = await rawRequest(p.url, `POST /openai/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Length: 1000\r\n\r\n{"model"`, { waitMs: 8_000 });
    assert.match(body, /^HTTP\/1\.1 408/);
  });
});

describe('proxy and upstream errors that quote the key', () => {
  it('cuts the real key out of an upstream error before the client sees it', async () => {
    const mock = new MockUpstream();
    const p = await startTestProxy(await mock.start());
    try {
      mock.next.push({ kind: 'status', status: 401, body: { error: { message: `Incorrect API key provided: ${UPSTREAM_KEY}.`, type: 'invalid_request_error' } } });
      const r = await fetch(`${p.url}/openai/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${await p.token('bob@acme.dev')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
      });
      assert.equal(r.status, 401);
      const text = await r.text();
      assert.ok(!text.includes(UPSTREAM_KEY), text);
      assert.match(text, /Incorrect API key provided: \[redacted\]\./);
      assert.equal(Number(r.headers.get('content-length')), Buffer.byteLength(text));
      assert.ok(r.headers.get('x-tollgate-decision'));
    } finally {
      await p.stop();
      await mock.stop();
    }
  });
});

describe('proxy without an upstream key', () => {
  it('answers 502 naming the variable to set, and records a call that holds nothing', async () => {
    const mock = new MockUpstream();
    const p = await startTestProxy(await mock.start(), { env: {} });
    try {
      const r = await fetch(`${p.url}/openai/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${await p.token('bob@acme.dev')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
      });
      assert.equal(r.status, 502);
      assert.match(((await r.json()) as { error: { message: string } }).error.message, /set OPENAI_API_KEY in the proxy's environment/);
      assert.equal(mock.seen.length, 0);
      const rec = (await p.records()).find((x) => x.id === r.headers.get('x-tollgate-decision'));
      assert.ok(rec?.kind === 'decision' && rec.outcome === 'error');
      if (rec?.kind === 'decision') {
        assert.equal(rec.reserved.usd, 0);
        assert.ok(rec.limits.every((l) => l.after === l.before), 'a restart must not charge a call that never went out');
      }
      assert.equal((await p.state()).accumulators.find((a) => a.rule === 'user-tokens')?.used ?? 0, 0);
    } finally {
      await p.stop();
      await mock.stop();
    }
  });
});
