import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { EVERYTHING_BIN, httpClient, mcpBundle } from '../../helpers/mcp';
import { startTestProxy } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';

// Hostile input at the MCP gateway: each gets a clear JSON-RPC error over HTTP, the proxy keeps
// serving, and no server process outlives its session or the proxy.

interface Answer {
  readonly status: number;
  readonly body: { error?: { code: number; message: string } };
}

/** One request with the path exactly as given (no URL normalisation of `..` or `%2F`). */
function raw(proxy: TestProxy, method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<Answer> {
  const url = new URL(proxy.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path, headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: Answer['body'];
        try {
          parsed = JSON.parse(text) as Answer['body'];
        } catch {
          parsed = { error: { code: 0, message: text } };
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Processes whose environment carries `mark`: the servers this test's proxy started. */
function processesMarked(mark: string): number[] {
  const found: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`TOLLGATE_TEST_MARK=${mark}`)) found.push(Number(pid));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

const initialize = (id: unknown): string => JSON.stringify({ jsonrpc: '2.0', id, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'hostile', version: '1' } } });

describe('MCP gateway: hostile input', function () {
  this.timeout(120_000);
  const mark = randomBytes(8).toString('hex');
  let proxy: TestProxy;
  let auth: Record<string, string>;

  before(async () => {
    const text = mcpBundle({ mcp: `  servers:\n    everything: { command: [${JSON.stringify(EVERYTHING_BIN)}, stdio], env: { TOLLGATE_TEST_MARK: "${mark}" } }` });
    proxy = await startTestProxy('http://127.0.0.1:9', { policyText: text, maxBodyBytes: 4 * 1024 * 1024 });
    auth = { authorization: `Bearer ${await proxy.token('alice@acme.dev')}` };
  });

  after(async () => {
    await proxy?.stop();
  });

  it('answers a body that is not JSON with a parse error', async () => {
    const r = await raw(proxy, 'POST', '/mcp/everything', '{"jsonrpc": "2.0", "id": 1, "method": ', auth);
    assert.equal(r.status, 400);
    assert.equal(r.body.error?.code, -32700);
  });

  it('refuses a batch of 10,000 requests without starting anything', async () => {
    const batch = JSON.stringify(Array.from({ length: 10_000 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'tools/list' })));
    const r = await raw(proxy, 'POST', '/mcp/everything', batch, auth);
    assert.equal(r.status, 400);
    assert.match(r.body.error!.message, /a batch of 10000 messages; the gateway takes at most 64/);
  });

  it('refuses huge ids, as a string and as a number', async () => {
    for (const id of ['x'.repeat(1_000_000), 1e300]) {
      const r = await raw(proxy, 'POST', '/mcp/everything', initialize(id), auth);
      assert.equal(r.status, 400);
      assert.match(r.body.error!.message, /message id that is neither a string of at most 256 characters nor a safe integer/);
    }
  });

  it('serves no server name with .., an encoded slash or any other spelling', async () => {
    for (const path of ['/mcp/../openai/v1/models', '/mcp/..%2Fopenai', '/mcp/everything%2F..', '/mcp/%65verything', '/mcp/everything/extra', '/mcp/', '/mcp']) {
      const r = await raw(proxy, 'POST', path, initialize(1), auth);
      assert.equal(r.status, 404, path);
      assert.match(r.body.error!.message, /no MCP server at .*: the bundle serves \/mcp\/everything/, path);
    }
  });

  it('asks for the session a request belongs to: none is 400, an unknown one 404', async () => {
    const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    const none = await raw(proxy, 'POST', '/mcp/everything', list, auth);
    assert.equal(none.status, 400);
    assert.match(none.body.error!.message, /Mcp-Session-Id/);
    const unknown = await raw(proxy, 'POST', '/mcp/everything', list, { ...auth, 'mcp-session-id': 'no-such-session' });
    assert.equal(unknown.status, 404);
    assert.equal((await raw(proxy, 'GET', '/mcp/everything', undefined, auth)).status, 400);
    assert.equal((await raw(proxy, 'DELETE', '/mcp/everything', undefined, { ...auth, 'mcp-session-id': 'no-such-session' })).status, 404);
    assert.equal((await raw(proxy, 'PUT', '/mcp/everything', '{}', auth)).status, 405);
  });

  it('keeps one person\'s session from another, and a bad token out of every session', async () => {
    const alice = await httpClient(proxy.url, 'everything', auth.authorization!.slice('Bearer '.length));
    await alice.listTools();
    const sessionId = (alice.transport as { sessionId?: string }).sessionId!;
    const list = JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' });
    const mallory = { authorization: `Bearer ${await proxy.token('mallory@acme.dev')}` };
    const stolen = await raw(proxy, 'POST', '/mcp/everything', list, { ...mallory, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' });
    assert.equal(stolen.status, 404);
    const forged = await raw(proxy, 'POST', '/mcp/everything', list, { authorization: 'Bearer not.a.token', 'mcp-session-id': sessionId });
    assert.equal(forged.status, 401);
    await alice.close();
  });

  it('starts no local server where the proxy was told not to (an untrusted workspace), and says why', async () => {
    const text = mcpBundle({ mcp: `  servers:\n    everything: { command: [${JSON.stringify(EVERYTHING_BIN)}, stdio], env: { TOLLGATE_TEST_MARK: "${mark}-refused" } }` });
    const refusing = await startTestProxy('http://127.0.0.1:9', { policyText: text, mcpStdio: false });
    try {
      const token = await refusing.token('alice@acme.dev');
      await assert.rejects(httpClient(refusing.url, 'everything', token), /does not start local commands from its bundle/);
      assert.deepEqual(processesMarked(`${mark}-refused`), []);
    } finally {
      await refusing.stop();
    }
  });

  it('still serves a well-behaved client afterwards, and leaves no server process behind', async () => {
    const client = await httpClient(proxy.url, 'everything', auth.authorization!.slice('Bearer '.length));
    assert.ok((await client.listTools()).tools.length > 0);
    assert.ok(processesMarked(mark).length >= 1, 'the session runs its server');
    await client.close();
    await proxy.stop();
    for (let i = 0; i < 100 && processesMarked(mark).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(processesMarked(mark), []);
  });
});
