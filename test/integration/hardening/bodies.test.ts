import assert from 'node:assert/strict';
import * as net from 'node:net';
import { MockUpstream } from '../../helpers/mock-upstream';
import { startTestProxy } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';
import { nestsDeeperThan } from '../../../src/proxy/body';

describe('bodies and slow clients', () => {
  let mock: MockUpstream;
  let p: TestProxy;
  before(async () => {
    mock = new MockUpstream();
    p = await startTestProxy(await mock.start(), { maxBodyBytes: 2 * 1024 * 1024, bodyTimeoutMs: 1000 });
  });
  after(async () => {
    await p.stop();
    await mock.stop();
  });

  it('measures nesting in one pass, ignoring brackets inside strings', () => {
    assert.equal(nestsDeeperThan(Buffer.from('{"a":[[["x"]]]}'), 4), false);
    assert.equal(nestsDeeperThan(Buffer.from('{"a":[[[["x"]]]]}'), 4), true);
    assert.equal(nestsDeeperThan(Buffer.from(`{"a":"${'['.repeat(1000)}\\"${'{'.repeat(1000)}"}`), 4), false);
  });

  it('answers a body nested 150,000 levels deep inside metadata with 400, and records it', async () => {
    const depth = 150_000;
    const body = `{"model":"claude-haiku-4-5","max_tokens":5,"messages":[{"role":"user","content":"x"}],"metadata":{"deep":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}}`;
    const seen = mock.seen.length;
    const r = await fetch(`${p.url}/anthropic/v1/messages`, {
      method: 'POST', headers: { authorization: `Bearer ${await p.token('bob@acme.dev')}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body,
    });
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { error: { message: string } }).error.message, /nested too deeply/);
    assert.equal(mock.seen.length, seen);
    const id = r.headers.get('x-tollgate-decision');
    const rec = (await p.records()).find((x) => x.id === id);
    assert.ok(rec?.kind === 'decision' && rec.status === 400 && rec.identity.user === 'bob@acme.dev', 'recorded against the person who sent it');
  });

  it('cuts a client that sends its headers slower than the configured timeout, at that timeout', async () => {
    const { port } = new URL(p.url);
    const started = Date.now();
    const answer = await new Promise<string>((resolve) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => socket.write('POST /openai/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n'));
      let out = '';
      socket.on('data', (c) => (out += c.toString()));
      socket.on('close', () => resolve(out));
      socket.on('error', () => resolve(out));
      // The proxy's own timeout is 1 s; well before the old behaviour's ~30 s, the test gives up.
      setTimeout(() => socket.destroy(), 15_000).unref();
    });
    const ms = Date.now() - started;
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.match(answer, /x-tollgate-decision: [0-9A-Z]{26}/, 'answered like every refusal, naming the record that counts it');
    assert.ok(ms < 10_000, `cut after ${ms} ms with a 1 s header timeout`);
  });

  it('answers a request Node cannot parse with 400 naming the record that counts it', async () => {
    const { port } = new URL(p.url);
    const answer = await new Promise<string>((resolve) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => socket.write('POST /openai/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Bad: a\x01b\r\n\r\n'));
      let out = '';
      socket.on('data', (c) => (out += c.toString()));
      socket.on('close', () => resolve(out));
      socket.on('error', () => resolve(out));
    });
    assert.match(answer, /^HTTP\/1\.1 400/);
    const id = /x-tollgate-decision: ([0-9A-Z]{26})/.exec(answer)?.[1];
    assert.ok(id);
    const rec = (await p.records()).find((r) => r.id === id);
    assert.ok(rec?.kind === 'refusals' && rec.counts.some((c) => c.reason === 'malformed-http'));
  });
});
