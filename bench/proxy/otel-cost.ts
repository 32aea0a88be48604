// What OpenTelemetry trace export costs the proxy per call (issue 18): `tollgate serve` with
// OTLP/HTTP trace export on (protobuf, and JSON) against the same build with it off, in one run,
// alternating rounds so that the machine's drift falls on every variant alike. Traces only: the
// metrics exporter is not turned on here.
// Each variant is its own proxy process on the same upstream; each round loads one of them at a
// fixed offered rate (CPU per call depends on the rate) with small non-streaming chat calls, and
// reads the proxy process's CPU from /proc. The collector is a receiver in this process that
// counts what arrives and discards it.
// Run from the repository root after `npm run build`:
//   node bench/run.js bench/proxy/otel-cost.ts [seconds per round, default 5] [--rounds N, default 6] [--rate calls/s, default 500]
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { cpuMs } from '../proc-cpu';
import { mintSessionToken } from '../../src/engine/identity/tokens';
import { loadSessionKeys } from '../../src/store/session-key';
import { benchPolicy } from './agent-body';

const root = process.cwd();
const outDir = path.join(root, 'bench', '.out');
const cli = path.join(root, 'dist', 'cli.js');
const serversJs = path.join(outDir, 'proxy-servers.js');
const CONNECTIONS = 32;
const PEOPLE = 500;

function parseArgs(argv: string[]): { seconds: number; rounds: number; rate: number } {
  const o = { seconds: 5, rounds: 6, rate: 500 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--rounds') o.rounds = Number(argv[++i]);
    else if (a === '--rate') o.rate = Number(argv[++i]);
    else if (/^\d+(\.\d+)?$/.test(a)) o.seconds = Number(a);
    else throw new Error('usage: node bench/run.js bench/proxy/otel-cost.ts [seconds] [--rounds N] [--rate calls/s]');
  }
  if (!(o.rounds >= 1) || !(o.rate > 0) || !(o.seconds > 0)) throw new Error('seconds, --rounds and --rate must be positive');
  return o;
}

// ---- processes -------------------------------------------------------------------------------

interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly url: string;
}

const started: Proc[] = [];

function start(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Proc> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  return new Promise((resolve, reject) => {
    let out = '';
    let listening = false;
    child.stdout!.on('data', (c: Buffer) => {
      if (listening) return;
      out += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        listening = true;
        const p = { name, child, url: m[1]! };
        started.push(p);
        resolve(p);
      }
    });
    child.once('exit', (code) => reject(new Error(`${name} exited ${code}`)));
  });
}

async function stopAll(): Promise<void> {
  for (const p of started.reverse()) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
    const exited = new Promise((r) => p.child.once('exit', r));
    p.child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  }
}

/** A collector that takes every OTLP export and discards it, counting requests and bytes. */
function discardingCollector(): Promise<{ url: string; exports: () => { requests: number; bytes: number }; close: () => void }> {
  let requests = 0;
  let bytes = 0;
  const server = http.createServer((req, res) => {
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      requests++;
      const json = String(req.headers['content-type'] ?? '').startsWith('application/json');
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(json ? '{}' : '');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exports: () => ({ requests, bytes }),
    close: () => server.close(),
  })));
}

interface Variant {
  readonly name: string;
  readonly env: NodeJS.ProcessEnv;
  proc?: Proc;
  auth?: Record<string, string>[];
  readonly rounds: Round[];
}

interface Round {
  readonly calls: number;
  readonly failed: number;
  readonly cpuUsPerCall: number;
  readonly p50: number;
  readonly p99: number;
  readonly rps: number;
}

async function startTollgate(v: Variant, upstream: Proc): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-otel-bench-'));
  const policyPath = path.join(dataDir, 'tollgate.yaml');
  fs.writeFileSync(policyPath, benchPolicy());
  // Nothing of the caller's own OpenTelemetry settings leaks into a variant.
  const clean: NodeJS.ProcessEnv = {};
  for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_')) clean[k] = undefined;
  v.proc = await start(v.name, [cli, 'serve', '--port', '0', '--data-dir', dataDir, '--policy', policyPath, '--upstream', `openai=${upstream.url}`, '--log-level', 'warn'],
    { ...clean, OPENAI_API_KEY: 'bench-upstream-key', ...v.env });
  const keys = loadSessionKeys(dataDir);
  const tokens = await Promise.all(Array.from({ length: PEOPLE }, (_, i) => mintSessionToken(keys, { user: `dev${i}@acme.dev`, agent: 'batch-eval', ttlMs: 3_600_000, now: Date.now() })));
  v.auth = tokens.map((t) => ({ authorization: `Bearer ${t}` }));
}

const chat = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello in five words.' }], max_tokens: 16 });

async function load(v: Variant, seconds: number, rate: number): Promise<Round> {
  let i = 0;
  const pid = v.proc!.child.pid!;
  const before = cpuMs(`/proc/${pid}/stat`);
  const r = await autocannon({
    url: `${v.proc!.url}/openai/v1/chat/completions`, connections: CONNECTIONS, duration: seconds, method: 'POST', body: chat, overallRate: rate,
    requests: [{ setupRequest: (req) => ({ ...req, headers: { 'content-type': 'application/json', ...v.auth![i++ % v.auth!.length]! } }) }],
  });
  const after = cpuMs(`/proc/${pid}/stat`);
  const calls = r.requests.total;
  return { calls, failed: r.non2xx + r.errors + r.timeouts, cpuUsPerCall: calls ? ((after - before) * 1000) / calls : Number.NaN, p50: r.latency.p50, p99: r.latency.p99, rps: r.requests.average };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const int = (n: number): string => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  if (!fs.existsSync('/proc/self/stat')) throw new Error('this benchmark reads CPU time from /proc (Linux)');
  if (!fs.existsSync(cli)) throw new Error('run `npm run build` first: dist/cli.js is missing');
  const { seconds, rounds, rate } = parseArgs(process.argv.slice(2));
  execFileSync(process.execPath, [path.join(root, 'bench', 'run.js'), '--build-only', 'bench/proxy/servers.ts'], { stdio: 'inherit' });
  const collector = await discardingCollector();
  const upstream = await start('upstream', [serversJs, 'upstream']);
  // The SDK's defaults otherwise: a batch every 5 s, of up to 512 spans.
  const variants: Variant[] = [
    { name: 'off (no OTEL variables)', env: {}, rounds: [] },
    { name: 'traces, http/protobuf', env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }, rounds: [] },
    { name: 'traces, http/json', env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, rounds: [] },
  ];
  try {
    for (const v of variants) await startTollgate(v, upstream);
    // Warm each (JIT, connections, the ledger's and describe threads, the exporter) before measuring.
    for (const v of variants) await load(v, 2, rate);
    for (let r = 0; r < rounds; r++) {
      // Alternate the order too, so no variant always follows the same one.
      const order = r % 2 === 0 ? variants : [...variants].reverse();
      for (const v of order) v.rounds.push(await load(v, seconds, rate));
    }
    // Let the last batch go out before counting what the collector received.
    await new Promise((r) => setTimeout(r, 6_000));
  } finally {
    await stopAll();
    collector.close();
  }
  const off = median(variants[0]!.rounds.map((r) => r.cpuUsPerCall));
  console.log(`\n### OpenTelemetry trace export: proxy CPU per call, on against off\n`);
  console.log(`${rounds} alternating rounds of ${seconds} s per variant, ${int(rate)} calls/s offered at ${CONNECTIONS} connections, small non-streaming chat calls; CPU of the proxy process from /proc (user + system), per call. ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), Node ${process.version}.\n`);
  console.log('| variant | calls | failed | calls/s | p50 ms | p99 ms | proxy CPU µs/call (median of rounds) | each round | vs off |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const v of variants) {
    const cpu = median(v.rounds.map((r) => r.cpuUsPerCall));
    const calls = v.rounds.reduce((s, r) => s + r.calls, 0);
    const failed = v.rounds.reduce((s, r) => s + r.failed, 0);
    const delta = v === variants[0] ? '' : `${cpu - off >= 0 ? '+' : ''}${int(cpu - off)} µs (${(((cpu - off) / off) * 100).toFixed(1)}%)`;
    console.log(`| ${v.name} | ${int(calls)} | ${int(failed)} | ${int(median(v.rounds.map((r) => r.rps)))} | ${median(v.rounds.map((r) => r.p50))} | ${median(v.rounds.map((r) => r.p99))} | ${int(cpu)} | ${v.rounds.map((r) => int(r.cpuUsPerCall)).join(', ')} | ${delta} |`);
  }
  const got = collector.exports();
  console.log(`\nThe collector received ${int(got.requests)} export requests, ${int(got.bytes / 1024)} KiB in all, from the two exporting variants.`);
}

main().catch(async (err: Error) => {
  console.error(err.stack ?? err.message);
  await stopAll();
  process.exit(1);
});
