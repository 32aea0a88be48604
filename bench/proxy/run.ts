// The cost of a call through the proxy, against the upstream called directly, a bare http-proxy
// pass-through and Portkey's open-source gateway (from npm), all in one run, and issue 17's targets
// checked as ratios of figures measured side by side:
// - throughput: small bodies, non-streaming and streaming, at 32 connections: calls/s, p50/p99,
//   CPU per call in each process (and, per thread, in each proxy: which thread of Tollgate spends
//   what), bytes allocated per call on each proxy's main thread; then the bare proxy and Tollgate
//   at one offered rate, since CPU per call depends on the rate;
// - agent: an agent-sized request (Anthropic Messages, 24 tools, about 40,000 tokens) one at a time;
// - latency: an upstream that answers after 50 ms, as a model takes at least; one call at a time
//   and 64 concurrent callers, to 0.01 ms (a keep-alive client timing each call with hrtime).
// Each proxy runs with bench/proxy/probe.ts preloaded, which names its threads and counts allocation.
// Run from the repository root after `npm run build`:
//   node bench/run.js bench/proxy/run.ts [seconds per row, default 10] [--only throughput,agent,latency]
//     [--cli other-build/dist/cli.js]   (Tollgate from another build, to alternate before and after)
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { cpuMs, processThreadsCpuMs } from '../proc-cpu';
import type { ThreadCpu } from '../proc-cpu';
import { mintSessionToken } from '../../src/engine/identity/tokens';
import { loadSessionKeys } from '../../src/store/session-key';
import { agentTemplate, benchPolicy } from './agent-body';
import type { BodyTemplate } from './agent-body';
import { measureLatency, percentile } from './latency-client';
import type { CallSpec, LatencyResult } from './latency-client';
import { installPortkey, PORTKEY_VERSION, portkeyHeaders, startPortkey } from './portkey';

type Mode = 'throughput' | 'latency' | 'agent';
const MODES: readonly Mode[] = ['throughput', 'agent', 'latency'];

const root = process.cwd();
const outDir = path.join(root, 'bench', '.out');
/** The Tollgate build under test: this checkout's, or another's with --cli (to alternate a before and an after). */
let cli = path.join(root, 'dist', 'cli.js');
const serversJs = path.join(outDir, 'proxy-servers.js');
const probeJs = path.join(outDir, 'proxy-probe.js');
const CONNECTIONS = 32;
const CALLERS = 64;
const UPSTREAM_DELAY_MS = 50;

function parseArgs(argv: string[]): { seconds: number; modes: Set<Mode> } {
  let seconds = 10;
  let modes = new Set<Mode>(MODES);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--only') {
      const wanted = (argv[++i] ?? '').split(',');
      for (const m of wanted) if (!MODES.includes(m as Mode)) throw new Error(`--only takes ${MODES.join(', ')} (comma-separated), not '${m}'`);
      modes = new Set(wanted as Mode[]);
    } else if (a === '--cli') {
      cli = path.resolve(argv[++i] ?? '');
      if (!fs.existsSync(cli)) throw new Error(`--cli: no file at ${cli}`);
    } else if (/^\d+(\.\d+)?$/.test(a)) {
      seconds = Number(a);
    } else {
      throw new Error(`usage: node bench/run.js bench/proxy/run.ts [seconds] [--only ${MODES.join('|')}] [--cli other-build/dist/cli.js]`);
    }
  }
  return { seconds, modes };
}

// ---- processes -------------------------------------------------------------------------------

interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly url: string;
  /** Started with the probe: its threads are labelled and its allocations can be counted. */
  readonly probed: boolean;
}

const started: Proc[] = [];

function start(name: string, args: string[], options: { env?: NodeJS.ProcessEnv; probe?: boolean } = {}): Promise<Proc> {
  const probed = options.probe === true;
  const child = spawn(process.execPath, [...(probed ? ['--require', probeJs] : []), ...args], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, ...options.env } });
  return new Promise((resolve, reject) => {
    let out = '';
    let listening = false;
    child.stdout!.on('data', (c: Buffer) => {
      if (listening) return;
      out += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        listening = true;
        const p = { name, child, url: m[1]!, probed };
        started.push(p);
        resolve(p);
      }
    });
    child.once('exit', (code) => reject(new Error(`${name} (${args.join(' ')}) exited ${code}`)));
  });
}

async function stop(p: Proc): Promise<void> {
  const i = started.indexOf(p);
  if (i >= 0) started.splice(i, 1);
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
}

async function stopAll(): Promise<void> {
  // Proxies first, so none logs its upstream going away while it drains.
  const order = [...started].sort((a, b) => Number(a.name.startsWith('upstream')) - Number(b.name.startsWith('upstream')));
  for (const p of order) await stop(p);
}

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

/** Calls the mock upstream has answered so far. */
async function upstreamCalls(up: Proc): Promise<number> {
  return Number(await get(`${up.url}/calls`));
}

// ---- CPU and allocation --------------------------------------------------------------------

const dataDirs: string[] = [];
const probeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-proxy-bench-probe-'));
// Every process started with the probe inherits where to write.
process.env.BENCH_PROBE_DIR = probeDir;

/** Each thread's label: the role it gave the probe, `startup` for threads older than any code, else its kernel name. */
function threadLabels(p: Proc): Map<number, string> {
  const labels = new Map<number, string>();
  const file = path.join(probeDir, `${p.child.pid}.threads`);
  if (!fs.existsSync(file)) return labels;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const [tid, role] = line.split(' ');
    if (tid && role) labels.set(Number(tid), role);
  }
  return labels;
}

function threadGroup(tid: number, pid: number, labels: Map<number, string>): string {
  if (tid === pid) return 'main (request thread)';
  const role = labels.get(tid);
  if (role === 'startup') return 'V8 platform (GC, compiler)';
  if (role) return `${role.replace(/^tollgate-/, '').replace(/-thread$/, '').replace(/-/g, ' ')} thread`;
  return 'libuv pool, other helpers';
}

interface CpuSnapshot {
  readonly processes: Map<number, number>;
  readonly threads: Map<number, ThreadCpu>;
  readonly self: number;
}

function snapshot(pids: number[], threadsOf: number | null): CpuSnapshot {
  const usage = process.cpuUsage();
  return {
    processes: new Map(pids.map((pid) => [pid, cpuMs(`/proc/${pid}/stat`)])),
    threads: threadsOf === null ? new Map() : processThreadsCpuMs(threadsOf),
    self: (usage.user + usage.system) / 1000,
  };
}

interface Cost {
  /** µs of CPU per call in each process, by name, and in the load generator (this process). */
  readonly perProcess: Map<string, number>;
  readonly generator: number;
  readonly all: number;
  /** µs per call on each group of the proxy's threads; `exited threads` for threads gone before the end. */
  readonly perThreadGroup: Map<string, number>;
  /** Bytes allocated per call on the proxy's main thread, when it runs the probe. */
  readonly allocBytes: number | null;
}

function signalAlloc(p: Proc): void {
  p.child.kill('SIGUSR2');
}

async function readAlloc(p: Proc): Promise<number | null> {
  const file = path.join(probeDir, `${p.child.pid}.alloc`);
  for (let i = 0; i < 100; i++) {
    if (fs.existsSync(file)) {
      const bytes = Number(fs.readFileSync(file, 'utf8').split(' ')[0]);
      fs.rmSync(file);
      return bytes;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return null;
}

/** Runs `work` (which returns how many calls it made) and what each call cost `procs` (the first is the proxy, if any). */
async function costed(procs: Proc[], proxy: Proc | null, work: () => Promise<number>): Promise<{ calls: number; cost: Cost | null }> {
  const linux = fs.existsSync('/proc/self/stat');
  const pids = procs.map((p) => p.child.pid!);
  if (proxy?.probed) signalAlloc(proxy);
  const before = linux ? snapshot(pids, proxy?.child.pid ?? null) : null;
  const calls = await work();
  const after = linux ? snapshot(pids, proxy?.child.pid ?? null) : null;
  if (proxy?.probed) signalAlloc(proxy);
  const allocTotal = proxy?.probed ? await readAlloc(proxy) : null;
  if (!before || !after || calls === 0) return { calls, cost: null };
  const us = (ms: number): number => (ms * 1000) / calls;
  const perProcess = new Map<string, number>();
  let all = us(after.self - before.self);
  for (const p of procs) {
    const d = us(after.processes.get(p.child.pid!)! - before.processes.get(p.child.pid!)!);
    perProcess.set(p.name, d);
    all += d;
  }
  const perThreadGroup = new Map<string, number>();
  if (proxy) {
    const labels = threadLabels(proxy);
    let live = 0;
    for (const [tid, t] of after.threads) {
      const d = us(t.ms - (before.threads.get(tid)?.ms ?? 0));
      live += d;
      const g = threadGroup(tid, proxy.child.pid!, labels);
      perThreadGroup.set(g, (perThreadGroup.get(g) ?? 0) + d);
    }
    const gone = perProcess.get(proxy.name)! - live;
    // CPU of threads that exited during the run, and the 10 ms ticks' rounding between the two files.
    if (gone > 0.5) perThreadGroup.set('exited threads, rounding', gone);
  }
  return { calls, cost: { perProcess, generator: us(after.self - before.self), all, perThreadGroup, allocBytes: allocTotal === null ? null : allocTotal / calls } };
}

// ---- load ----------------------------------------------------------------------------------

interface Throughput {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly calls: number;
  readonly cost: Cost | null;
}

/** Loads `url` for `seconds` at 32 connections, as fast as it answers or, with `rate`, at that many calls a second. */
async function loadFor(seconds: number, url: string, headers: (n: number) => Record<string, string>, body: string, procs: Proc[], proxy: Proc | null, rate?: number): Promise<Throughput> {
  let i = 0;
  let result: autocannon.Result | null = null;
  const { calls, cost } = await costed(procs, proxy, async () => {
    result = await autocannon({
      url, connections: CONNECTIONS, duration: seconds, method: 'POST', body, ...(rate ? { overallRate: rate } : {}),
      requests: [{ setupRequest: (req) => ({ ...req, headers: { 'content-type': 'application/json', ...headers(i++) } }) }],
    });
    return result.requests.total;
  });
  const r = result as unknown as autocannon.Result;
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts, calls, cost };
}

// ---- formatting ----------------------------------------------------------------------------

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');
const signed = (n: number): string => `${n >= 0 ? '+' : ''}${n.toFixed(2)}`;
const ratio = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');
const verdicts: string[] = [];

function verdict(target: string, met: boolean | null, figure: string): void {
  verdicts.push(`- ${met === null ? 'NOT MEASURED' : met ? 'met' : 'NOT MET'}: ${target}: ${figure}`);
}

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

// ---- setup shared by the modes -------------------------------------------------------------

const smallChat = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello in five words.' }], max_tokens: 16 });
const streamedChat = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello in five words.' }], max_tokens: 16, stream: true, stream_options: { include_usage: true } });

/** A data directory with the bench's bundle (the reference bundle, per-person token window raised) and `people` tokens on the batch-eval agent. */
async function tollgate(name: string, upstream: Proc, people: number): Promise<{ proc: Proc; auth: Record<string, string>[] }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-proxy-bench-'));
  dataDirs.push(dataDir);
  const policyPath = path.join(dataDir, 'tollgate.yaml');
  fs.writeFileSync(policyPath, benchPolicy());
  const proc = await start(name, [cli, 'serve', '--port', '0', '--data-dir', dataDir, '--policy', policyPath, '--upstream', `openai=${upstream.url}`, '--upstream', `anthropic=${upstream.url}`, '--log-level', 'warn'],
    { env: { OPENAI_API_KEY: 'bench-upstream-key', ANTHROPIC_API_KEY: 'bench-upstream-key' }, probe: true });
  // The reference bundle's batch-eval agent: burst 500, 6,000/min per person, so no one person's limit refuses the run.
  const keys = loadSessionKeys(dataDir);
  const tokens = await Promise.all(Array.from({ length: people }, (_, i) => mintSessionToken(keys, { user: `dev${i}@acme.dev`, agent: 'batch-eval', ttlMs: 3_600_000, now: Date.now() })));
  return { proc, auth: tokens.map((t) => ({ authorization: `Bearer ${t}` })) };
}

/** The upstream that answers at once, a bare proxy and Tollgate in front of it: started once, shared by the throughput and agent modes. */
interface FastStack {
  readonly up: Proc;
  readonly bare: Proc;
  readonly tg: { proc: Proc; auth: Record<string, string>[] };
}

let fast: FastStack | null = null;

async function fastStack(): Promise<FastStack> {
  if (fast) return fast;
  const up = await start('upstream', [serversJs, 'upstream']);
  const bare = await start('bare http-proxy', [serversJs, 'bare', up.url], { probe: true });
  const tg = await tollgate('tollgate', up, 2000);
  fast = { up, bare, tg };
  return fast;
}

// ---- throughput ----------------------------------------------------------------------------

async function throughputMode(seconds: number): Promise<void> {
  const { up, bare, tg } = await fastStack();
  let portkey: Proc | null = null;
  let portkeyWhy = '';
  try {
    const entry = installPortkey(outDir);
    const pk = await startPortkey(entry, ['--require', probeJs], {}, path.join(outDir, 'portkey.log'));
    portkey = { name: `portkey ${PORTKEY_VERSION}`, child: pk.child, url: pk.url, probed: true };
    started.push(portkey);
  } catch (err) {
    portkeyWhy = (err as Error).message;
  }

  interface Target {
    readonly name: string;
    readonly proc: Proc | null;
    readonly url: string;
    readonly headers: (n: number) => Record<string, string>;
  }
  const targets: Target[] = [
    { name: 'upstream direct', proc: null, url: `${up.url}/v1/chat/completions`, headers: () => ({}) },
    { name: bare.name, proc: bare, url: `${bare.url}/openai/v1/chat/completions`, headers: () => ({}) },
    ...(portkey ? [{ name: portkey.name, proc: portkey, url: `${portkey.url}/v1/chat/completions`, headers: () => portkeyHeaders(up.url) }] : []),
    { name: 'tollgate serve', proc: tg.proc, url: `${tg.proc.url}/openai/v1/chat/completions`, headers: (n: number) => tg.auth[n % tg.auth.length]! },
  ];
  // Warm every path (JIT, connections, Tollgate's threads) before anything is measured.
  for (const t of targets) if (t.proc) await loadFor(1, t.url, t.headers, smallChat, [t.proc], null);

  const results = new Map<string, Throughput>();
  const reached = new Map<string, number>();
  for (const [label, body] of [['non-streaming', smallChat], ['streaming', streamedChat]] as const) {
    for (const t of targets) {
      const before = await upstreamCalls(up);
      const r = await loadFor(seconds, t.url, t.headers, body, t.proc ? [t.proc, up] : [up], t.proc);
      reached.set(`${label}/${t.name}`, (await upstreamCalls(up)) - before);
      results.set(`${label}/${t.name}`, r);
    }
  }

  // CPU per call depends on the rate: a saturated proxy reads several calls per turn of its event
  // loop and a group commit holds more records. So also at one rate for both, half of what
  // Tollgate reached above, non-streaming.
  const tgRate = results.get(`non-streaming/tollgate serve`)!;
  const equalRate = Math.max(20, Math.round(tgRate.rps / 2));
  const atRate = new Map<string, Throughput>();
  for (const t of targets) {
    if (t.proc !== bare && t.proc !== tg.proc) continue;
    atRate.set(t.name, await loadFor(Math.max(2, seconds / 2), t.url, t.headers, smallChat, [t.proc, up], t.proc, equalRate));
  }

  console.log(`\n### Throughput: ${CONNECTIONS} connections, ${seconds} s per row, small bodies\n`);
  console.log('CPU µs per call from /proc: in the proxy process, the mock upstream, the load generator (autocannon, this process) and all of them. Allocated: bytes per call on the proxy\'s main thread (V8 heap, from its GC profile).\n');
  const rows: string[][] = [];
  for (const [label] of [['non-streaming'], ['streaming']] as const) {
    for (const t of targets) {
      const r = results.get(`${label}/${t.name}`)!;
      const c = r.cost;
      const ok = r.calls - r.non2xx - r.errors;
      rows.push([label, t.name, int(r.rps), String(r.p50), String(r.p99), `${int(r.non2xx + r.errors)}${t.proc ? ` (${int(ok)} 2xx; upstream answered ${int(reached.get(`${label}/${t.name}`)!)})` : ''}`,
        c && t.proc ? int(c.perProcess.get(t.proc.name)!) : '', c ? int(c.perProcess.get('upstream')!) : '', c ? int(c.generator) : '', c ? int(c.all) : '',
        c?.allocBytes != null ? `${(c.allocBytes / 1024).toFixed(1)} KB` : '']);
    }
  }
  console.log(table(['body', 'target', 'calls/s', 'p50 ms', 'p99 ms', 'failed', 'proxy µs/call', 'upstream µs/call', 'generator µs/call', 'all µs/call', 'allocated/call'], rows));
  if (!portkey) console.log(`\nPortkey OSS did not run: ${portkeyWhy}`);
  else {
    const failedRows = ['non-streaming', 'streaming'].filter((label) => { const r = results.get(`${label}/${portkey.name}`)!; return r.non2xx + r.errors > 0; });
    const firstError = fs.readFileSync(path.join(outDir, 'portkey.log'), 'utf8').split('\n').find((l) => /error/i.test(l));
    if (failedRows.length) console.log(`\nPortkey OSS failed calls (${failedRows.join(', ')}); its log's first error: ${firstError?.trim() ?? 'none'}`);
  }

  // Where each proxy's CPU goes, by thread.
  const groups = new Set<string>();
  for (const r of results.values()) for (const g of r.cost?.perThreadGroup.keys() ?? []) groups.add(g);
  const order = [...groups].sort((a, b) => (a.startsWith('main') ? -1 : b.startsWith('main') ? 1 : a.localeCompare(b)));
  const threadRows: string[][] = [];
  for (const label of ['non-streaming', 'streaming']) {
    for (const t of targets) {
      const c = results.get(`${label}/${t.name}`)?.cost;
      if (!t.proc || !c) continue;
      threadRows.push([label, t.name, ...order.map((g) => (c.perThreadGroup.has(g) ? int(c.perThreadGroup.get(g)!) : '')), int(c.perProcess.get(t.proc.name)!)]);
    }
  }
  const rateRows: string[][] = [...atRate].map(([name, r]) => {
    const proc = targets.find((t) => t.name === name)!.proc!;
    const c = r.cost;
    return [name, int(r.rps), String(r.p50), String(r.p99), int(r.non2xx + r.errors), c ? int(c.perProcess.get(proc.name)!) : '', c ? int(c.perThreadGroup.get('main (request thread)') ?? 0) : '', c?.allocBytes != null ? `${(c.allocBytes / 1024).toFixed(1)} KB` : ''];
  });
  console.log(`\nThe same, non-streaming, both at ${int(equalRate)} calls/s offered (half of Tollgate's rate above), ${Math.max(2, seconds / 2)} s each:\n`);
  console.log(table(['target', 'calls/s', 'p50 ms', 'p99 ms', 'failed', 'proxy µs/call', 'request thread µs/call', 'allocated/call'], rateRows));
  console.log('\nCPU µs per call on each thread of each proxy (threads named by their role; "V8 platform" are the threads that exist before any code runs: garbage collection and compilation helpers):\n');
  console.log(table(['body', 'proxy', ...order, 'whole process'], threadRows));

  // The targets, as ratios measured in this run.
  const ratioRows: string[][] = [];
  for (const label of ['non-streaming', 'streaming']) {
    const b = results.get(`${label}/${bare.name}`)!;
    const g = results.get(`${label}/tollgate serve`)!;
    const p = portkey ? results.get(`${label}/${portkey.name}`) : undefined;
    const cpuRatio = b.cost && g.cost ? g.cost.perProcess.get('tollgate')! / b.cost.perProcess.get(bare.name)! : Number.NaN;
    const pOk = p !== undefined && p.non2xx + p.errors === 0;
    ratioRows.push([label, ratio(cpuRatio), ratio(g.rps / b.rps), pOk ? ratio(g.rps / p.rps) : p ? `n/a (Portkey failed ${int(p.non2xx + p.errors)} of ${int(p.calls)})` : 'n/a',
      g.cost?.allocBytes != null ? `${(g.cost.allocBytes / 1024).toFixed(1)} KB` : 'n/a', b.cost?.allocBytes != null ? `${(b.cost.allocBytes / 1024).toFixed(1)} KB` : 'n/a']);
    const atRateFigure = ((): string => {
      const gr = atRate.get('tollgate serve')?.cost?.perProcess.get('tollgate');
      const br = atRate.get(bare.name)?.cost?.perProcess.get(bare.name);
      return label === 'non-streaming' && gr !== undefined && br !== undefined ? `; both at ${int(equalRate)} calls/s: ${ratio(gr / br)}x (${int(gr)} against ${int(br)} µs)` : '';
    })();
    verdict(`${label}: Tollgate's whole-process CPU per call at most 2.5x the bare proxy's`, Number.isFinite(cpuRatio) ? cpuRatio <= 2.5 : null, `${ratio(cpuRatio)}x at full load (${int(g.cost?.perProcess.get('tollgate') ?? Number.NaN)} against ${int(b.cost?.perProcess.get(bare.name) ?? Number.NaN)} µs)${atRateFigure}`);
    verdict(`${label}: throughput at least 0.5 of the bare proxy's`, g.non2xx + g.errors === 0 ? g.rps / b.rps >= 0.5 : false, `${ratio(g.rps / b.rps)} (${int(g.rps)} against ${int(b.rps)} calls/s${g.non2xx + g.errors ? `; ${int(g.non2xx + g.errors)} failed` : ''})`);
    verdict(`${label}: throughput at least 4x Portkey OSS's`, pOk ? g.rps / p.rps >= 4 : null, pOk ? `${ratio(g.rps / p.rps)}x (${int(g.rps)} against ${int(p.rps)} calls/s)` : p ? `Portkey answered ${int(p.non2xx + p.errors)} of ${int(p.calls)} calls with an error (see bench/.out/portkey.log)` : portkeyWhy);
    if (label === 'non-streaming') verdict('allocation at most 20 KB per small call', g.cost?.allocBytes != null ? g.cost.allocBytes <= 20 * 1024 : null, g.cost?.allocBytes != null ? `${(g.cost.allocBytes / 1024).toFixed(1)} KB on the request thread (bare http-proxy ${((b.cost?.allocBytes ?? Number.NaN) / 1024).toFixed(1)} KB)` : 'no figure');
  }
  console.log('\nRatios in this run:\n');
  console.log(table(['body', 'CPU/call tollgate ÷ bare (≤ 2.5)', 'calls/s tollgate ÷ bare (≥ 0.5)', 'calls/s tollgate ÷ portkey (≥ 4)', 'tollgate allocated/call (≤ 20 KB)', 'bare allocated/call'], ratioRows));
  if (portkey) await stop(portkey);
}

// ---- latency with a 50 ms upstream ---------------------------------------------------------

function latencyRow(name: string, r: LatencyResult): string[] {
  return [name, int(r.calls / r.seconds), ms2(percentile(r.sortedMs, 0.5)), ms2(percentile(r.sortedMs, 0.99)), ms2(r.sortedMs[r.sortedMs.length - 1] ?? Number.NaN), int(r.failed)];
}

async function latencyMode(seconds: number): Promise<void> {
  // Nothing of the other modes stays up beside this one's processes.
  await stopAll();
  fast = null;
  const up = await start(`upstream (${UPSTREAM_DELAY_MS} ms)`, [serversJs, 'upstream', String(UPSTREAM_DELAY_MS)]);
  const bare = await start('bare http-proxy', [serversJs, 'bare', up.url]);
  const tg = await tollgate('tollgate', up, 2000);
  const targets: [string, string, (n: number) => Record<string, string>][] = [
    ['upstream direct', `${up.url}/v1/chat/completions`, () => ({})],
    ['bare http-proxy', `${bare.url}/openai/v1/chat/completions`, () => ({})],
    ['tollgate serve', `${tg.proc.url}/openai/v1/chat/completions`, (n) => tg.auth[n % tg.auth.length]!],
  ];
  // Warm the paths at the highest concurrency first.
  for (const [, url, headers] of targets) await measureLatency(url, CALLERS, 1, (n) => ({ body: smallChat, headers: headers(n) }));
  console.log(`\n### Latency: upstream answers after ${UPSTREAM_DELAY_MS} ms, small non-streaming bodies, ${seconds} s per row\n`);
  console.log('Each call timed from its first byte sent to the last byte of its response, on keep-alive connections (ms).\n');
  for (const callers of [1, CALLERS]) {
    const res = new Map<string, LatencyResult>();
    for (const [name, url, headers] of targets) res.set(name, await measureLatency(url, callers, seconds, (n) => ({ body: smallChat, headers: headers(n) })));
    const d = res.get('upstream direct')!;
    const b = res.get('bare http-proxy')!;
    const g = res.get('tollgate serve')!;
    const q = (r: LatencyResult, p: number): number => percentile(r.sortedMs, p);
    console.log(`${callers === 1 ? 'One call at a time' : `${callers} concurrent callers`}:\n`);
    console.log(table(['target', 'calls/s', 'p50', 'p99', 'max', 'failed'], targets.map(([name]) => latencyRow(name, res.get(name)!))));
    console.log(`\nadded over direct: bare ${signed(q(b, 0.5) - q(d, 0.5))} p50, ${signed(q(b, 0.99) - q(d, 0.99))} p99; tollgate ${signed(q(g, 0.5) - q(d, 0.5))} p50, ${signed(q(g, 0.99) - q(d, 0.99))} p99`);
    console.log(`**tollgate minus bare: ${signed(q(g, 0.5) - q(b, 0.5))} ms p50, ${signed(q(g, 0.99) - q(b, 0.99))} ms p99**\n`);
    if (callers === 1) verdict(`${UPSTREAM_DELAY_MS} ms upstream, one call at a time: at most 0.5 ms more than bare at the median`, g.failed === 0 ? q(g, 0.5) - q(b, 0.5) <= 0.5 : false, `${signed(q(g, 0.5) - q(b, 0.5))} ms (${ms2(q(g, 0.5))} against ${ms2(q(b, 0.5))})`);
    else verdict(`${UPSTREAM_DELAY_MS} ms upstream, ${callers} concurrent callers: at most 5 ms more than bare at p99`, g.failed === 0 ? q(g, 0.99) - q(b, 0.99) <= 5 : false, `${signed(q(g, 0.99) - q(b, 0.99))} ms (${ms2(q(g, 0.99))} against ${ms2(q(b, 0.99))})`);
  }
  await stopAll();
}

// ---- the agent-sized request ---------------------------------------------------------------

async function agentMode(seconds: number): Promise<void> {
  const body: BodyTemplate = agentTemplate();
  const { up, bare, tg } = await fastStack();
  const headers = { 'anthropic-version': '2023-06-01' };
  const targets: [string, Proc | null, string, (n: number) => CallSpec][] = [
    ['upstream direct', null, `${up.url}/v1/messages`, (n) => ({ body: `${body.before}${n}${body.after}`, headers })],
    ['bare http-proxy', bare, `${bare.url}/anthropic/v1/messages`, (n) => ({ body: `${body.before}${n}${body.after}`, headers })],
    ['tollgate serve', tg.proc, `${tg.proc.url}/anthropic/v1/messages`, (n) => ({ body: `${body.before}${n}${body.after}`, headers: { ...headers, ...tg.auth[n % tg.auth.length]! } })],
  ];
  // Warm: the describe threads start, the tokenizer's tables fill.
  for (const [, , url, next] of targets) await measureLatency(url, 1, 2, next);
  const res = new Map<string, { r: LatencyResult; cost: Cost | null }>();
  for (const [name, proc, url, next] of targets) {
    let r: LatencyResult | null = null;
    const { cost } = await costed(proc ? [proc, up] : [up], proc, async () => {
      r = await measureLatency(url, 1, seconds, next, 0);
      return r.calls;
    });
    res.set(name, { r: r!, cost });
  }
  const q = (name: string, p: number): number => percentile(res.get(name)!.r.sortedMs, p);
  console.log(`\n### Agent-sized request, one call at a time, ${seconds} s per row\n`);
  console.log(`Anthropic Messages, a system prompt and 24 tools: ${int(body.bytes)} bytes, ${int(body.tokens)} tokens as the proxy counts them; each call's last message differs. The mock upstream answers at once (ms).\n`);
  console.log(table(['target', 'calls/s', 'p50', 'p99', 'max', 'failed', 'proxy CPU µs/call', 'allocated/call'], targets.map(([name, proc]) => {
    const { r, cost } = res.get(name)!;
    return [...latencyRow(name, r), cost && proc ? int(cost.perProcess.get(proc.name)!) : '', cost?.allocBytes != null ? `${(cost.allocBytes / 1024).toFixed(0)} KB` : ''];
  })));
  const tgCost = res.get('tollgate serve')!.cost;
  if (tgCost) console.log(`\nTollgate's CPU per call by thread (µs): ${[...tgCost.perThreadGroup].sort((a, b) => b[1] - a[1]).map(([g, us]) => `${g} ${int(us)}`).join(', ')}`);
  const addP50 = q('tollgate serve', 0.5) - q('bare http-proxy', 0.5);
  console.log(`**tollgate minus bare: ${signed(addP50)} ms p50, ${signed(q('tollgate serve', 0.99) - q('bare http-proxy', 0.99))} ms p99** (minus direct: ${signed(q('tollgate serve', 0.5) - q('upstream direct', 0.5))} ms p50)`);
  verdict('agent-sized request, one at a time: adds at most 5 ms at the median (against bare)', res.get('tollgate serve')!.r.failed === 0 ? addP50 <= 5 : false, `${signed(addP50)} ms (${ms2(q('tollgate serve', 0.5))} against ${ms2(q('bare http-proxy', 0.5))})`);
}

// ---- main ----------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { seconds, modes } = parseArgs(process.argv.slice(2));
  // Bundle the helper servers and the probe the same way the product is bundled.
  for (const entry of ['bench/proxy/servers.ts', 'bench/proxy/probe.ts']) execFileSync(process.execPath, [path.join(root, 'bench', 'run.js'), '--build-only', entry], { stdio: 'inherit' });
  const load = os.loadavg().map((n) => n.toFixed(2)).join(', ');
  console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}; load average at start ${load}; ${seconds} s per row; modes: ${[...modes].join(', ')}; tollgate: ${path.relative(root, cli) || cli}`);
  try {
    for (const [mode, run] of [['throughput', throughputMode], ['agent', agentMode], ['latency', latencyMode]] as const) {
      if (!modes.has(mode)) continue;
      const t0 = Date.now();
      await run(seconds);
      console.log(`\n(${mode}: ${((Date.now() - t0) / 1000).toFixed(0)} s, load average ${os.loadavg().map((n) => n.toFixed(2)).join(', ')})`);
    }
  } finally {
    await stopAll();
    for (const dir of [probeDir, ...dataDirs]) fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\n### Targets (issue 17), from this run (load average at the end ${os.loadavg().map((n) => n.toFixed(2)).join(', ')})\n`);
  console.log(verdicts.join('\n'));
}

main().catch((err: unknown) => {
  console.error(err);
  void stopAll().then(() => process.exit(1));
});
