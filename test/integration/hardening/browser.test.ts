import assert from 'node:assert/strict';
import { MockUpstream } from '../../helpers/mock-upstream';
import { referenceText } from '../../helpers/policy';
import { startTestProxy } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';
import { rawRequest } from '../../helpers/raw-http';

// identity.required: false is the setting under which a page could spend the key without a token.
const open = referenceText.replace('  required: true\n', '  required: false\n');
const chat = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });

describe('web pages cannot drive the proxy (Origin and Host, before anything else)', () => {
  let mock: MockUpstream;
  let p: TestProxy;
  let port: string;
  before(async () => {
    mock = new MockUpstream();
    await mock.start();
    p = await startTestProxy(mock.url, { policyText: open.replace('guards:\n', 'network:\n  allowed_origins: [https://app.acme.dev]\n  allowed_hosts: [gateway.acme.dev]\n\nguards:\n') });
    port = new URL(p.url).port;
  });
  after(async () => {
    await p.stop();
    await mock.stop();
  });

  async function send(headers: Record<string, string>, target = '/openai/v1/chat/completions', method = 'POST'): Promise<{ status: number; headers: Record<string, string>; reached: boolean }> {
    const seen = mock.seen.length;
    const r = await rawRequest(p.url, { method, target, body: method === 'POST' ? chat : '', headers: { 'content-type': 'text/plain', ...headers } });
    return { status: r.status, headers: r.headers, reached: mock.seen.length > seen };
  }

  it('refuses a request from a page of another origin, even a simple text/plain post with no token', async () => {
    const r = await send({ origin: 'http://evil.example' });
    assert.equal(r.status, 403);
    assert.equal(r.reached, false, 'the key never went upstream');
    assert.equal((await send({ origin: 'null' })).status, 403, 'a sandboxed page sends Origin: null');
  });

  it('refuses a Host that is not the proxy (DNS rebinding), for model calls and for the admin API', async () => {
    const r = await send({ host: `evil.example:${port}` });
    assert.equal(r.status, 403);
    assert.equal(r.reached, false);
    const admin = await send({ host: `evil.example:${port}`, authorization: `Bearer ${p.running.adminToken}` }, '/_tollgate/state', 'GET');
    assert.equal(admin.status, 403);
  });

  it('accepts its own address, localhost and a host the bundle lists', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'LOCALHOST', `gateway.acme.dev:${port}`]) {
      const r = await send({ host, 'content-type': 'application/json' });
      assert.equal(r.status, 200, host);
    }
  });

  it('lets its own dashboard post to the admin API (same origin, its own Host), and nothing else from a page', async () => {
    const resume = JSON.stringify({ user: 'nobody@acme.dev' });
    const admin = (headers: Record<string, string>): Promise<{ status: number }> =>
      rawRequest(p.url, { method: 'POST', target: '/_tollgate/identity/resume', body: resume, headers: { 'content-type': 'application/json', authorization: `Bearer ${p.running.adminToken}`, ...headers } });
    // The dashboard's Resume button: a same-origin POST, which a browser sends with Origin.
    assert.equal((await admin({ origin: `http://127.0.0.1:${port}` })).status, 404, 'answered: nobody was suspended');
    assert.equal((await admin({ origin: `http://localhost:${port}`, host: `localhost:${port}` })).status, 404);
    // Another origin, another port of the same machine, or a rebound name are still pages of someone else.
    assert.equal((await admin({ origin: 'http://evil.example' })).status, 403);
    assert.equal((await admin({ origin: `http://127.0.0.1:${Number(port) + 1}` })).status, 403);
    // Behind a TLS terminator the dashboard's origin is https, under a name the bundle lists.
    assert.equal((await admin({ origin: 'https://gateway.acme.dev', host: 'gateway.acme.dev' })).status, 404);
    assert.equal((await admin({ origin: `http://evil.example:${port}`, host: `evil.example:${port}` })).status, 403);
    // Same origin or not, a page never makes model calls.
    assert.equal((await send({ origin: `http://127.0.0.1:${port}`, 'content-type': 'application/json' })).status, 403);
  });

  it('lets a page of an allowed origin call it, with CORS headers and a preflight', async () => {
    const pre = await send({ origin: 'https://app.acme.dev', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' }, '/openai/v1/chat/completions', 'OPTIONS');
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], 'https://app.acme.dev');
    assert.match(pre.headers['access-control-allow-methods'] ?? '', /POST/);
    const r = await send({ origin: 'https://app.acme.dev', 'content-type': 'application/json' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['access-control-allow-origin'], 'https://app.acme.dev');
    assert.match(r.headers['access-control-expose-headers'] ?? '', /x-tollgate-decision/);
  });

  it('relays an upstream page inert: sandboxed and never sniffed, so it cannot script the dashboard\'s origin', async () => {
    // The dashboard shares this origin and keeps its token in the tab's session storage; a page a
    // navigation reached through the proxy must not run as that origin.
    mock.next.push({ kind: 'custom', handle: (_req, res) => res.writeHead(200, { 'content-type': 'text/html', 'content-security-policy': "default-src *; script-src 'unsafe-inline'" }).end('<script>sessionStorage.getItem("x")</script>') });
    const r = await send({}, '/openai/v1/models', 'GET');
    assert.equal(r.status, 200);
    assert.equal(r.reached, true);
    assert.equal(r.headers['content-security-policy'], 'sandbox', 'the upstream\'s own policy is replaced, not added to');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
  });

  it('has no allowed origin by default', async () => {
    const q = await startTestProxy(mock.url, { policyText: open });
    try {
      const r = await rawRequest(q.url, { target: '/openai/v1/chat/completions', body: chat, headers: { origin: 'https://app.acme.dev', 'content-type': 'application/json' } });
      assert.equal(r.status, 403);
    } finally {
      await q.stop();
    }
  });
});
