// What OpenTelemetry export costs the proxy per call (issue 18): `tollgate serve` with OTLP/HTTP
// export on (traces and metrics, as OTEL_EXPORTER_OTLP_ENDPOINT turns both on; protobuf, and JSON)
// against the same build with it off, in one run, alternating rounds so that the machine's drift
// falls on every variant alike. "Off" still records the metrics the Prometheus endpoint serves:
// that endpoint is always there.
// Each variant is its own proxy process on the same upstream; each round loads one of them at a
// fixed offered rate (CPU per call depends on the rate) with small non-streaming chat calls, and
// reads the proxy process's CPU from /proc. The collector is a receiver in this process that
// counts what arrives and discards it.
// A second table isolates the tracer's own work: the call pipeline (engine, memory store, a
// transport without sockets) run in this process with a tracer exporting over OTLP/HTTP protobuf
// against without one, alternating batches, CPU from process.cpuUsage(): the figure the noise of
// a shared machine hides in the first table.
// Run from the repository root after `npm run build`:
//   node bench/run.js bench/proxy/otel-cost.ts [seconds per round, default 5] [--rounds N, default 6] [--rate calls/s, default 500]
//     [--only proxy|pipeline]
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { cpuMs } from '../proc-cpu';
import type { ListeningProcess } from '../listening-process';
import { startListening } from '../listening-process';
import { Engine } from '../../src/engine/decide';
import type { Identity } from '../../src/engine/identity/identity';
import { mintSessionToken } from '../../src/engine/identity/tokens';
import { loadPolicy } from '../../src/engine/policy/loader';
import { CallEvents } from '../../src/pipeline/call-events';
import type { CallPolicy } from '../../src/pipeline/call-context';
import type { CallTransport, UpstreamCall, UpstreamHandlers } from '../../src/pipeline/call-transport';
import { CallPipeline } from '../../src/pipeline/pipeline';
import { describeRequest } from '../../src/proxy/describe/describe';
import { MemoryStore } from '../../src/store/memory-store';
import { loadSessionKeys } from '../../src/store/session-key';
import { CallTracer } from '../../src/telemetry/tracing';
import { GatewayMetrics } from '../../src/telemetry/metrics';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { benchPolicy } from './agent-body';

const root = process.cwd();
const outDir = path.join(root, 'bench', '.out');
const cli = path.join(root, 'dist', 'cli.js');
const serversJs = path.join(outDir, 'proxy-servers.js');
const CONNECTIONS = 32;
const PEOPLE = 500;

function parseArgs(argv: string[]): { seconds: number; rounds: number; rate: number; only?: 'proxy' | 'pipeline' } {
  const o: { seconds: number; rounds: number; rate: number; only?: 'proxy' | 'pipeline' } = { seconds: 5, rounds: 6, rate: 500 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--only') {
      const v = argv[++i];
      if (v !== 'proxy' && v !== 'pipeline') throw new Error('--only takes proxy or pipeline');
      o.only = v;
    } else if (a === '--rounds') o.rounds = Number(argv[++i]);
    else if (a === '--rate') o.rate = Number(argv[++i]);
    else if (/^\d+(\.\d+)?$/.test(a)) o.seconds = Number(a);
    else throw new Error('usage: node bench/run.js bench/proxy/otel-cost.ts [seconds] [--rounds N] [--rate calls/s] [--only proxy|pipeline]');
  }
  if (!(o.rounds >= 1) || !(o.rate > 0) || !(o.seconds > 0)) throw new Error('seconds, --rounds and --rate must be positive');
  return o;
}

// ---- processes -------------------------------------------------------------------------------

type Proc = ListeningProcess;

/** Every process the bench started, stopped at the end. */
const started: ChildProcess[] = [];

function start(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Proc> {
  return startListening(args, env, started);
}

async function stopAll(): Promise<void> {
  for (const child of started.reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
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
  v.proc = await start([cli, 'serve', '--port', '0', '--data-dir', dataDir, '--policy', policyPath, '--upstream', `openai=${upstream.url}`, '--log-level', 'warn'],
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

// ---- the tracer's own work, in process -------------------------------------------------------

/** A call without sockets whose upstream answers at once with usage, as the relay would read it. */
class BenchCall implements CallTransport {
  readonly method = 'POST';
  constructor(private readonly headers: Record<string, string>) {}
  header(name: string): string | undefined {
    return this.headers[name];
  }
  readBody(): Promise<Buffer> {
    return Promise.resolve(Buffer.from(chat));
  }
  setHeader(): void {}
  answer(): void {}
  sendUpstream(_request: UpstreamCall, handlers: UpstreamHandlers): void {
    handlers.onResponse({
      relay: () => Promise.resolve({ reading: { input: 12, output: 8, outputText: '' }, response: { id: 'chatcmpl-1', model: 'gpt-4o-mini-2024-07-18' }, aborted: false, status: 200 }),
      abort: () => undefined,
    });
  }
}

/** Calls the pipeline bench saw refused (none, unless the bundle's limits change). */
let refusals = 0;

function benchPipeline(traced: CallTracer | undefined, metered = false): { pipeline: CallPipeline; rules: CallPolicy } {
  const loaded = loadPolicy(benchPolicy());
  if (!loaded.ok) throw new Error('the bench bundle does not load');
  const events = new CallEvents((err) => {
    throw err;
  });
  let n = 0;
  // A ledger that records instantly, as the recorder hands back its record.
  for (const name of ['refused', 'released', 'forwarded'] as const) events.on(name, (e) => e.recordedAs({ ok: true, id: `rec-${++n}`, durable: Promise.resolve(true) }));
  events.on('refused', () => refusals++);
  traced?.subscribe(events);
  // The metrics every proxy records for its Prometheus endpoint, exported or not.
  if (metered) {
    new GatewayMetrics({
      freshMeter: () => new MeterProvider({ readers: [new PrometheusExporter({ preventServerStart: true })] }).getMeter('tollgate'),
      policy: () => loaded.policy, pseudonymOf: (u) => `tg-${u.length}`, upstreamOf: () => 'https://api.openai.com', accumulators: () => Promise.resolve([]), clock: Date.now,
    }).subscribe(events);
  }
  const pipeline = new CallPipeline({
    events, describe: describeRequest, ledgerHealth: () => ({ ok: true }), isLocalHold: () => false, env: { OPENAI_API_KEY: 'bench-upstream-key' },
    upstreamOverrides: new Map(), shadow: false, pseudonymOf: (u) => `tg-${u.length}`, clock: Date.now, log: { warn: () => undefined, error: () => undefined },
  });
  const identity: Identity = { user: 'dev@acme.dev', agent: 'batch-eval', session: 's', roles: [], issuer: 'tollgate' };
  const engine = new Engine(loaded.policy, new MemoryStore());
  // Many people, a few calls each: no person's limits refuse any call, so every call is forwarded.
  let caller = 0;
  return { pipeline, rules: { policy: loaded.policy, engine, verifier: { verify: () => Promise.resolve({ ...identity, user: `dev${caller++ % 20_000}@acme.dev` }) } } };
}

let traces = 0;

async function pipelineCpu(p: { pipeline: CallPipeline; rules: CallPolicy }, calls: number): Promise<number> {
  const route = { provider: 'openai', path: '/v1/chat/completions', query: '' };
  const before = process.cpuUsage();
  for (let i = 0; i < calls; i++) {
    // Each call in a trace of its own, as an agent's calls come (the bundle caps calls per trace).
    const traceId = (++traces).toString(16).padStart(32, '0');
    await p.pipeline.run(new BenchCall({ authorization: 'Bearer t', traceparent: `00-${traceId}-00f067aa0ba902b7-01` }), route, p.rules);
    // A turn of the event loop now and then, as a proxy takes between requests: the batch
    // processor exports on it (without one, its queue would fill and drop spans unexported).
    if (i % 50 === 49) await new Promise((r) => setImmediate(r));
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / calls;
}

async function inProcess(collectorUrl: string, rounds: number): Promise<void> {
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = collectorUrl;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/protobuf';
  const tracer = CallTracer.fromEnvironment(process.env, { upstreamOverrides: new Map(), pseudonymOf: (u) => `tg-${u.length}`, clock: Date.now }, { warn: (m) => console.error(m), addSecret: () => undefined });
  const off = benchPipeline(undefined);
  const on = benchPipeline(tracer);
  const metered = benchPipeline(undefined, true);
  const batch = 2_000;
  await pipelineCpu(off, batch);
  await pipelineCpu(on, batch);
  await pipelineCpu(metered, batch);
  const offUs: number[] = [];
  const onUs: number[] = [];
  const meteredUs: number[] = [];
  for (let r = 0; r < rounds * 2; r++) {
    if (r % 2 === 0) {
      offUs.push(await pipelineCpu(off, batch));
      onUs.push(await pipelineCpu(on, batch));
      meteredUs.push(await pipelineCpu(metered, batch));
    } else {
      meteredUs.push(await pipelineCpu(metered, batch));
      onUs.push(await pipelineCpu(on, batch));
      offUs.push(await pipelineCpu(off, batch));
    }
  }
  // What is still batched is serialized and sent before the figures are read, and counted.
  const before = process.cpuUsage();
  await tracer.shutdown();
  const flush = process.cpuUsage(before);
  const total = batch * rounds * 2;
  const a = median(offUs);
  const b = median(onUs) + (flush.user + flush.system) / total;
  console.log(`\nThe call pipeline alone, in this process (engine, memory store, no sockets), ${rounds * 2} alternating batches of ${int(batch)} calls each way, CPU from process.cpuUsage() (the batch processor exports on its timer in the same process, so its serialization is inside the figure; the final flush is added):\n`);
  console.log('| pipeline | CPU µs/call (median of batches) | each batch |');
  console.log('|---|---|---|');
  console.log(`| no tracer | ${a.toFixed(1)} | ${offUs.map((x) => x.toFixed(0)).join(', ')} |`);
  console.log(`| tracer, OTLP http/protobuf | ${b.toFixed(1)} | ${onUs.map((x) => x.toFixed(0)).join(', ')} |`);
  console.log(`| metrics recorded (no tracer) | ${median(meteredUs).toFixed(1)} | ${meteredUs.map((x) => x.toFixed(0)).join(', ')} |`);
  console.log(`\nThe tracer's own work: ${(b - a).toFixed(1)} µs per call; the metrics' own work: ${(median(meteredUs) - a).toFixed(1)} µs per call. Calls refused: ${int(refusals)}.`);
}

async function main(): Promise<void> {
  if (!fs.existsSync('/proc/self/stat')) throw new Error('this benchmark reads CPU time from /proc (Linux)');
  if (!fs.existsSync(cli)) throw new Error('run `npm run build` first: dist/cli.js is missing');
  const { seconds, rounds, rate, only } = parseArgs(process.argv.slice(2));
  if (only !== 'pipeline') await processRounds(seconds, rounds, rate);
  if (only === 'proxy') return;
  const collector = await discardingCollector();
  try {
    await inProcess(collector.url, rounds);
  } finally {
    collector.close();
  }
}

/** The proxies as processes, each variant in turn. */
async function processRounds(seconds: number, rounds: number, rate: number): Promise<void> {
  execFileSync(process.execPath, [path.join(root, 'bench', 'run.js'), '--build-only', 'bench/proxy/servers.ts'], { stdio: 'inherit' });
  const collector = await discardingCollector();
  const upstream = await start([serversJs, 'upstream']);
  // The SDK's defaults otherwise: a batch every 5 s, of up to 512 spans.
  const variants: Variant[] = [
    { name: 'off (no OTEL variables)', env: {}, rounds: [] },
    { name: 'OTLP on, http/protobuf', env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }, rounds: [] },
    { name: 'OTLP on, http/json', env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, rounds: [] },
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
