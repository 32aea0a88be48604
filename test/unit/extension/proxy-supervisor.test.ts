import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { RestartBackoff } from '../../../src/extension/core/backoff';
import { ProxyStartError, ProxySupervisor, serveArguments } from '../../../src/extension/core/proxy-supervisor';
import type { ProxyLaunch } from '../../../src/extension/core/proxy-supervisor';
import type { ProxyStatus } from '../../../src/protocol';
import { eventually } from '../../helpers/poll';

// Stands in for `tollgate serve`: listens on --port, says so over its IPC channel as the contract
// has it, and misbehaves as FAKE_MODE says. Written at run time so it is plain JS for any Node.
const fakeServe = `
const http = require('node:http');
const fs = require('node:fs');
const args = process.argv.slice(2);
const port = Number(args[args.indexOf('--port') + 1]);
const mode = process.env.FAKE_MODE;
fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify({ pid: process.pid, port, args, env: process.env.FAKE_SECRET || null, electron: process.env.ELECTRON_RUN_AS_NODE || null }) + '\\n');
if (mode === 'crash') { console.error('fatal: cannot open ledger'); process.exit(3); }
const server = http.createServer((req, res) => res.end('ok'));
server.listen(port, '127.0.0.1', () => {
  if (mode === 'chatty') {
    // What a person would read is no signal: only the channel's message counts.
    console.log('tollgate listening on http://127.0.0.1:1');
    process.send({ type: 'log', level: 'warn', message: 'the disk is nearly full' });
  }
  if (mode !== 'silent') process.send({ type: 'listening', url: 'http://127.0.0.1:' + server.address().port });
});
process.on('SIGTERM', () => { fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify({ sigterm: process.pid }) + '\\n'); server.close(() => process.exit(0)); });
`;

interface Started {
  readonly pid: number;
  readonly port: number;
  readonly args: string[];
  readonly env: string | null;
  readonly electron: string | null;
}

describe('proxy child process (ProxySupervisor)', function () {
  this.timeout(20_000);
  let dir: string;
  let cli: string;
  let log: string;
  const supervisors: ProxySupervisor[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'supervisor-'));
    cli = path.join(dir, 'fake-cli.js');
    log = path.join(dir, 'log.jsonl');
    fs.writeFileSync(cli, fakeServe);
  });
  afterEach(async () => {
    for (const s of supervisors.splice(0)) await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const starts = (): Started[] => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Started & { sigterm?: number }).filter((e) => !e.sigterm) : []);
  const sigterms = (): number[] => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { sigterm?: number }).sigterm).filter((p): p is number => p !== undefined) : []);

  function supervisor(mode: string, options: { backoff?: RestartBackoff; startTimeoutMs?: number } = {}): { s: ProxySupervisor; statuses: ProxyStatus[]; urls: string[]; logs: string[][] } {
    const statuses: ProxyStatus[] = [];
    const urls: string[] = [];
    const logs: string[][] = [];
    const launch = async (): Promise<ProxyLaunch> => ({
      execPath: process.execPath, cliPath: cli, policyFile: path.join(dir, 'policy.yaml'), dataDir: path.join(dir, 'data'), port: 0,
      upstreams: { openai: 'http://127.0.0.1:9' }, env: { ...process.env, FAKE_MODE: mode, FAKE_LOG: log, FAKE_SECRET: 'upstream-secret' },
    });
    const s = new ProxySupervisor(launch, { status: (st) => statuses.push(st), listening: (u) => urls.push(u), log: (level, line) => logs.push([level, line]) }, { backoff: options.backoff ?? new RestartBackoff({ baseMs: 50, maxMs: 200, stableMs: 60_000, maxFailures: 3 }), startTimeoutMs: options.startTimeoutMs ?? 8_000 });
    supervisors.push(s);
    return { s, statuses, urls, logs };
  }

  it('builds the serve command line of the CLI contract', () => {
    const args = serveArguments({ execPath: 'node', cliPath: '/x/cli.js', policyFile: '/p.yaml', dataDir: '/d', port: 0, upstreams: { openai: 'http://u' }, env: {} }, 4100);
    assert.deepEqual(args, ['/x/cli.js', 'serve', '--host', '127.0.0.1', '--port', '4100', '--policy', '/p.yaml', '--data-dir', '/d', '--upstream', 'openai=http://u']);
  });

  it('tells the proxy to start no local MCP server for an untrusted workspace', () => {
    const args = serveArguments({ execPath: 'node', cliPath: '/x/cli.js', policyFile: '/p.yaml', dataDir: '/d', port: 0, upstreams: {}, env: {}, mcpStdio: false }, 4100);
    assert.deepEqual(args.slice(-2), ['--mcp-stdio', 'refuse']);
  });

  it('starts the child with the keys in its environment as Node (ELECTRON_RUN_AS_NODE) and resolves with its URL', async () => {
    const { s, statuses } = supervisor('ok');
    const url = await s.start();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(await new Promise((r) => http.get(url, (res) => res.on('data', (d: Buffer) => r(d.toString())))), 'ok');
    assert.deepEqual(statuses.map((x) => x.phase), ['starting', 'running']);
    const [first] = starts();
    assert.equal(first?.env, 'upstream-secret');
    assert.equal(first?.electron, '1');
    assert.equal(await s.start(), url, 'start() while running is a no-op');
    assert.equal(starts().length, 1);
  });

  it('learns that the child listens, and its log records with their level, from its IPC channel, not its stdout', async () => {
    const { s, urls, logs } = supervisor('chatty');
    const url = await s.start();
    assert.notEqual(url, 'http://127.0.0.1:1');
    assert.deepEqual(urls, [url]);
    // Sent on the same channel before `listening`, so it has arrived by now.
    assert.ok(logs.some(([level, line]) => level === 'warn' && line === 'the disk is nearly full'), JSON.stringify(logs));
  });

  it('restarts a child that dies, on the port it had, so terminals stay valid', async () => {
    const { s, statuses } = supervisor('ok');
    const url = await s.start();
    const pid = s.pid!;
    process.kill(pid, 'SIGKILL');
    await eventually(() => starts().length === 2 && s.status.phase === 'running', 'a second start', 8_000);
    assert.equal(s.url, url);
    assert.notEqual(s.pid, pid);
    assert.equal(starts()[1]?.port, Number(new URL(url).port), 'asked for the same port');
    assert.ok(statuses.some((x) => x.phase === 'restarting' && /SIGKILL/.test(x.detail ?? '')));
  });

  it('gives up after repeated quick deaths and says why', async () => {
    const { s, statuses } = supervisor('crash');
    await assert.rejects(s.start(), (e: unknown) => ProxyStartError.is(e, 'exited') && /cannot open ledger/.test((e as Error).message));
    await eventually(() => s.status.phase === 'failed', 'failed', 8_000);
    assert.equal(starts().length, 4, 'the first start and three restarts');
    assert.match(statuses[statuses.length - 1]?.detail ?? '', /gave up after 3 restarts/);
  });

  it('times out a child that never reports listening', async () => {
    const { s } = supervisor('silent', { startTimeoutMs: 600, backoff: new RestartBackoff({ baseMs: 50, maxMs: 50, stableMs: 60_000, maxFailures: 0 }) });
    await assert.rejects(s.start(), (e: unknown) => ProxyStartError.is(e, 'timeout'));
  });

  it('stops with SIGTERM and does not restart; dispose() is safe twice', async () => {
    const { s, statuses } = supervisor('ok');
    await s.start();
    const pid = s.pid!;
    await s.stop();
    assert.deepEqual(sigterms(), [pid]);
    // A restart is decided as the child's exit is handled, before stop() resolves: none was.
    assert.deepEqual(statuses.map((x) => x.phase), ['starting', 'running', 'stopped']);
    assert.equal(starts().length, 1);

    const other = supervisor('ok').s;
    await other.start();
    const otherPid = other.pid!;
    other.dispose();
    other.dispose();
    await eventually(() => sigterms().includes(otherPid), 'the disposed child to get SIGTERM', 8_000);
    await assert.rejects(other.start(), (e: unknown) => ProxyStartError.is(e, 'stopped'));
  });
});
