import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { AuditRecord, DecisionRecord, SettleRecord } from '../../../src/contracts/audit-records';
import { canonicalJson } from '../../../src/store/ledger/canonical';
import { runTollgate } from '../../helpers/cli';
import { bridgeClient, EVERYTHING_BIN, FILESYSTEM_BIN, httpClient, mcpBundle, mcpRefusal } from '../../helpers/mcp';
import { startTestProxy } from '../../helpers/proxy';
import { makeKey } from '../../unit/scan/keys';
import type { TestProxy } from '../../helpers/proxy';

// The MCP gateway with the official SDK client against the reference servers from npm, over both
// transports: Streamable HTTP straight to /mcp/<server>, and stdio through `tollgate mcp bridge`.
// Needs `npm run build` (the bridge runs dist/cli.js).

/** A key-shaped string built at run time, so the repository holds none. */
const FAKE_KEY = makeKey.openAiProject();
const REFUSED = -32041;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** server-everything over Streamable HTTP on a port of its own: the remote server the gateway forwards to. */
async function startRemoteEverything(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(EVERYTHING_BIN, ['streamableHttp'], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = `http://127.0.0.1:${port}/mcp`;
  for (let i = 0; i < 300; i++) {
    const up = await fetch(url, { method: 'GET' }).then(() => true, () => false);
    if (up) return { url, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error('the remote everything server did not start');
}

function names(list: { tools: { name: string }[] }): string[] {
  return list.tools.map((t) => t.name).sort();
}

describe('MCP gateway: the SDK client against the reference servers', function () {
  this.timeout(180_000);
  let proxy: TestProxy;
  let remote: { url: string; child: ChildProcess };
  let files: string;
  const clients: Client[] = [];

  before(async () => {
    files = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-mcp-files-'));
    fs.writeFileSync(path.join(files, 'notes.txt'), 'hello from the filesystem server\n');
    remote = await startRemoteEverything();
    const text = mcpBundle({
      limits: [
        '  - id: echo-calls',
        '    per: user',
        '    when: { provider: mcp, route: "everything/*" }',
        '    algorithm: sliding-window',
        '    window: 1h',
        '    limit: 3',
        '    cost: requests',
        '    match: { user: "carol@acme.dev" }',
      ].join('\n'),
      tools: [
        '  default:',
        '    allow: [mcp__everything__echo, mcp__everything__get-sum, mcp__files__list_directory, mcp__files__read_text_file, mcp__remote__echo]',
        '  roles:',
        '    ml-engineers: { allow: ["*"] }',
        '  approval: ["mcp__*__get-env"]',
        '  record_arguments: [mcp__everything__echo]',
      ].join('\n'),
      mcp: [
        '  servers:',
        `    everything: { command: [${JSON.stringify(EVERYTHING_BIN)}, stdio] }`,
        `    files: { command: [${JSON.stringify(FILESYSTEM_BIN)}, ${JSON.stringify(files)}] }`,
        `    remote: { url: ${JSON.stringify(remote.url)} }`,
      ].join('\n'),
    });
    proxy = await startTestProxy('http://127.0.0.1:9', { policyText: text });
  });

  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await proxy?.stop();
    remote?.child.kill();
  });

  async function client(user: string, server: string, o: { roles?: string[]; bridge?: boolean; agent?: string } = {}): Promise<Client> {
    const token = await proxy.token(user, { roles: o.roles, agent: o.agent });
    const c = o.bridge ? await bridgeClient(proxy.url, server, token) : await httpClient(proxy.url, server, token);
    clients.push(c);
    return c;
  }

  it('lists only the tools an identity is entitled to', async () => {
    const alice = await client('alice@acme.dev', 'everything');
    assert.deepEqual(names(await alice.listTools()), ['echo', 'get-sum']);
    const bob = await client('bob@acme.dev', 'everything');
    const all = names(await bob.listTools());
    assert.ok(all.length > 5 && all.includes('get-env') && all.includes('echo'), all.join(', '));
  });

  it('passes an entitled call through and refuses another tool with a JSON-RPC error naming the rule and the tool', async () => {
    const alice = await client('alice@acme.dev', 'everything');
    const echoed = await alice.callTool({ name: 'echo', arguments: { message: 'hello' } });
    assert.deepEqual(echoed.content, [{ type: 'text', text: 'Echo: hello' }]);
    const sum = await alice.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } });
    assert.match(JSON.stringify(sum.content), /5/);
    const err = await mcpRefusal(alice.callTool({ name: 'get-env', arguments: {} }));
    assert.equal(err.code, REFUSED);
    assert.match(err.message, /not entitled to tool 'mcp__everything__get-env'/);
    assert.equal((err.data as { rule: string }).rule, 'tools');
    assert.equal((err.data as { tool: string }).tool, 'mcp__everything__get-env');
  });

  it('refuses a tool that needs a person\'s approval, since no one can approve on the command line', async () => {
    const bob = await client('bob@acme.dev', 'everything');
    const err = await mcpRefusal(bob.callTool({ name: 'get-env', arguments: {} }));
    assert.equal((err.data as { rule: string }).rule, 'tools.approval');
    assert.match(err.message, /needs a person's approval/);
  });

  it('counts tool calls against a limit on provider mcp and the route <server>/<tool>: the 4th of 3 is refused', async () => {
    const carol = await client('carol@acme.dev', 'everything');
    for (let i = 0; i < 3; i++) await carol.callTool({ name: 'echo', arguments: { message: `call ${i}` } });
    const err = await mcpRefusal(carol.callTool({ name: 'echo', arguments: { message: 'one too many' } }));
    assert.equal((err.data as { rule: string }).rule, 'echo-calls');
    assert.equal((err.data as { status: number }).status, 429);
    // Another person's calls are not counted against carol's limit, nor limited by it.
    const alice = await client('alice@acme.dev', 'everything');
    await alice.callTool({ name: 'echo', arguments: { message: 'still fine' } });
  });

  it('serves the filesystem server: entitled reads work, writes are neither listed nor callable', async () => {
    const alice = await client('alice@acme.dev', 'files');
    assert.deepEqual(names(await alice.listTools()), ['list_directory', 'read_text_file']);
    const listing = await alice.callTool({ name: 'list_directory', arguments: { path: files } });
    assert.match(JSON.stringify(listing.content), /notes\.txt/);
    const read = await alice.callTool({ name: 'read_text_file', arguments: { path: path.join(files, 'notes.txt') } });
    assert.match(JSON.stringify(read.content), /hello from the filesystem server/);
    const err = await mcpRefusal(alice.callTool({ name: 'write_file', arguments: { path: path.join(files, 'evil.txt'), content: 'x' } }));
    assert.equal((err.data as { rule: string }).rule, 'tools');
    assert.equal(fs.existsSync(path.join(files, 'evil.txt')), false);
  });

  it('forwards to a remote Streamable HTTP server', async () => {
    const alice = await client('alice@acme.dev', 'remote');
    assert.deepEqual(names(await alice.listTools()), ['echo']);
    const echoed = await alice.callTool({ name: 'echo', arguments: { message: 'over http' } });
    assert.deepEqual(echoed.content, [{ type: 'text', text: 'Echo: over http' }]);
    const err = await mcpRefusal(alice.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } }));
    assert.equal((err.data as { tool: string }).tool, 'mcp__remote__get-sum');
  });

  it('works the same through the stdio bridge', async () => {
    const alice = await client('alice@acme.dev', 'everything', { bridge: true });
    assert.deepEqual(names(await alice.listTools()), ['echo', 'get-sum']);
    const echoed = await alice.callTool({ name: 'echo', arguments: { message: 'bridged' } });
    assert.deepEqual(echoed.content, [{ type: 'text', text: 'Echo: bridged' }]);
    const err = await mcpRefusal(alice.callTool({ name: 'get-env', arguments: {} }));
    assert.equal(err.code, REFUSED);
    assert.match(err.message, /not entitled to tool 'mcp__everything__get-env'/);
    const files = await client('alice@acme.dev', 'files', { bridge: true });
    assert.deepEqual(names(await files.listTools()), ['list_directory', 'read_text_file']);
  });

  it('refuses a client without a session token (401) and the bridge says why', async () => {
    const r = await fetch(`${proxy.url}/mcp/everything`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }),
    });
    assert.equal(r.status, 401);
    const body = (await r.json()) as { error: { message: string } };
    assert.match(body.error.message, /session token/);
    await assert.rejects(bridgeClient(proxy.url, 'everything', 'not-a-token'));
  });

  it('records every tool call as a decision with its arguments hash, and a settle, in a ledger audit verify accepts', async () => {
    const alice = await client('alice@acme.dev', 'everything', { agent: 'ledger-check' });
    const args = { message: `the key is ${FAKE_KEY}` };
    await alice.callTool({ name: 'echo', arguments: args });
    const dir = proxy.dataDir;
    await alice.close();
    await proxy.stop();
    const records: AuditRecord[] = [];
    const exported = await runTollgate(['audit', 'export', '--format', 'jsonl', '--data-dir', dir]);
    assert.equal(exported.code, 0, exported.stderr);
    for (const line of exported.stdout.trim().split('\n')) records.push(JSON.parse(line) as AuditRecord);

    const mine = records.filter((r): r is DecisionRecord => r.kind === 'decision' && r.identity.agent === 'ledger-check');
    assert.equal(mine.length, 1);
    const d = mine[0]!;
    assert.equal(d.provider, 'mcp');
    assert.equal(d.route, 'everything/echo');
    assert.equal(d.tool, 'mcp__everything__echo');
    assert.equal(d.outcome, 'allow');
    assert.equal(d.arguments_sha256, createHash('sha256').update(canonicalJson(args)).digest('hex'));
    // Kept (record_arguments names echo), and redacted: the key never reaches the ledger.
    assert.ok(!JSON.stringify(records).includes(FAKE_KEY));
    assert.match((d.arguments as { message: string }).message, /^the key is /);
    const settle = records.find((r): r is SettleRecord => r.kind === 'settle' && r.decision === d.id);
    assert.ok(settle, 'the call has a settle record');
    assert.equal(settle.status, 200);
    assert.equal(settle.is_error, false);
    assert.equal(typeof settle.duration_ms, 'number');

    // The refusals are decisions too, naming the rule and the tool; arguments of other tools are only hashed.
    const refused = records.filter((r): r is DecisionRecord => r.kind === 'decision' && r.provider === 'mcp' && r.outcome === 'refuse');
    assert.ok(refused.some((r) => r.rule === 'tools' && r.tool === 'mcp__everything__get-env' && r.arguments === null));
    assert.ok(refused.some((r) => r.rule === 'tools.approval'));
    assert.ok(refused.some((r) => r.rule === 'echo-calls' && r.status === 429));
    // The first tools/list pinned each definition it saw.
    assert.ok(records.some((r) => r.kind === 'tool-definition' && r.event === 'pinned' && r.tool === 'mcp__everything__echo'));
    // A model call's records carry the new fields as null: every record of a kind has every field.
    const policyRecord = records.find((r) => r.kind === 'settle');
    assert.ok(policyRecord && 'duration_ms' in policyRecord);

    const verified = await runTollgate(['audit', 'verify', '--data-dir', dir]);
    assert.equal(verified.code, 0, verified.stderr + verified.stdout);
    const csv = await runTollgate(['audit', 'export', '--format', 'csv', '--data-dir', dir]);
    assert.equal(csv.code, 0, csv.stderr);
    assert.match(csv.stdout.split('\r\n')[0]!, /,tool,arguments_sha256,arguments,duration_ms,is_error,server,sha256,previous_sha256,by(,|$)/);
  });
});
