// Memory and acknowledgement latency as the ledger grows: 1,000, 100,000 and 1,000,000 decisions,
// each with its settle record, shaped like a team's traffic through the proxy.
// Run from the repository root: node bench/run.js bench/ledger/scale.ts [1000,100000,1000000] [--dir D] [--keep]
// --keep leaves a copy of the ledger at each size in D.<size>; `node bench/run.js bench/ledger/scale.ts again D.<size>`
// measures such a copy again (with whichever build runs it), so two builds can be compared on the same files;
// `... scale.ts ack D.<size>` measures only acknowledgement latency there, from the index snapshot.
//
// The records are written through the ledger itself (sealed, signed, group commit, no index), so the
// files are the ones the proxy writes; only the pace differs. At each point a fresh process opens the
// ledger the way `tollgate serve` does (worker thread + index thread, no index snapshot yet: the
// index is built from the journal), then measures, one at a time, what a call waits on.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Ledger } from '../../src/store/ledger/ledger';
import { ledgerPaths } from '../../src/store/ledger/segments';
import { serveIndexThread } from '../../src/store/ledger/index-thread';
import { isLedgerIndexThread, isLedgerWorkerThread } from '../../src/store/ledger/worker-role';
import { serveLedgerThread } from '../../src/store/ledger/worker';
import type { DecisionBody, SettleBody } from '../../src/contracts/audit-records';

const START = Date.parse('2026-10-01T00:00:00Z');
/** A decision every 1.7 s on average: 1,000,000 of them span about 20 days, as a team of a few hundred makes. */
const MEAN_GAP_MS = 1700;
const USERS = 300;
const AGENTS = ['claude-code', 'cursor', 'batch-eval', 'default'] as const;
const MODELS = [
  ['anthropic', 'claude-sonnet-4-5', '/v1/messages'],
  ['anthropic', 'claude-haiku-4-5', '/v1/messages'],
  ['openai', 'gpt-4o', '/v1/chat/completions'],
  ['openai', 'gpt-4o-mini', '/v1/chat/completions'],
  ['gemini', 'gemini-2.5-flash', '/v1beta/models'],
] as const;

/** A small deterministic generator, so every run writes the same traffic. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function decisionOf(n: number, rand: () => number): DecisionBody {
  // A few people make most calls; each has one or two agents and favours a model.
  const u = Math.floor(USERS * rand() * rand());
  const user = `person${u}@acme.dev`;
  const agent = AGENTS[(u + (rand() < 0.2 ? 1 : 0)) % AGENTS.length];
  const [provider, model, route] = MODELS[(u + (rand() < 0.3 ? Math.floor(rand() * 5) : 0)) % MODELS.length];
  const roll = rand();
  const outcome = roll < 0.9 ? 'allow' : roll < 0.95 ? 'refuse' : roll < 0.98 ? 'downgrade' : 'error';
  const input = 200 + Math.floor(rand() * 40_000);
  const usd = Number(((input * 3 + 4096 * 15) / 1e6).toFixed(6));
  return {
    kind: 'decision',
    outcome,
    shadow: false,
    status: outcome === 'refuse' ? 429 : outcome === 'error' ? 502 : 200,
    identity: { user, agent, session: `s-${u}-${Math.floor(n / 50)}`, roles: ['engineering'] },
    classification: rand() < 0.05 ? ['pii'] : [],
    provider,
    route,
    model,
    model_served: model,
    trace: rand() < 0.1 ? `trace-${n}` : null,
    rule: outcome === 'refuse' ? 'person-daily-budget' : null,
    reason: outcome === 'refuse' ? 'person-daily-budget: would exceed $20.00 per day' : 'within every limit',
    exception: null,
    reserved: outcome === 'error' ? { input_tokens: 0, output_tokens: 0, usd: 0 } : { input_tokens: input, output_tokens: 4096, usd },
    limits: [
      { rule: 'person-daily-budget', key: user, before: 3.5, after: 3.5 + usd, limit: 20 },
      { rule: 'agent-burst', key: `${user}/${agent}`, before: 3, after: 4, limit: 60 },
    ],
    policy: { name: 'acme-ai-gateway', hash: 'a'.repeat(64) },
    tool: null,
    arguments_sha256: null,
    arguments: null,
    tools_stripped: null,
    approval: null,
  };
}

function settleOf(decision: string, d: DecisionBody, rand: () => number): SettleBody {
  const output = Math.floor(rand() * 2000);
  const input = d.reserved.input_tokens;
  return {
    kind: 'settle',
    decision,
    usage: { input_tokens: input, output_tokens: output, cache_read_input_tokens: Math.floor(input / 2) },
    usd: Number(((input * 3 + output * 15) / 1e6).toFixed(6)),
    status: 200,
    tool_calls: 0,
    tool_names: [],
    aborted: false,
    duration_ms: null,
    is_error: null,
  };
}

interface Traffic {
  decisions: number;
  now: number;
  rand: () => number;
}

/** Appends decisions (and, a few seconds later in ledger time, their settles) until `target` decisions. */
async function grow(dir: string, traffic: Traffic, target: number): Promise<void> {
  const ledger = await Ledger.open(dir, { index: false, clock: () => traffic.now });
  const inflight: Promise<unknown>[] = [];
  const open: { id: string; body: DecisionBody; due: number }[] = [];
  const push = (p: Promise<unknown>): void => {
    inflight.push(p);
  };
  while (traffic.decisions < target) {
    traffic.now += Math.floor(traffic.rand() * 2 * MEAN_GAP_MS);
    // Settles due by now go first: a call lasts 2-30 s.
    while (open.length && open[0].due <= traffic.now) {
      const o = open.shift()!;
      push(ledger.append(settleOf(o.id, o.body, traffic.rand)).durable);
    }
    const body = decisionOf(traffic.decisions, traffic.rand);
    const { record, durable } = ledger.append(body);
    push(durable);
    traffic.decisions++;
    if (body.outcome === 'allow' || body.outcome === 'downgrade') {
      const due = traffic.now + 2000 + Math.floor(traffic.rand() * 28_000);
      let i = open.length;
      while (i > 0 && open[i - 1].due > due) i--;
      open.splice(i, 0, { id: record.id, body, due });
    }
    if (inflight.length >= 4000) await Promise.all(inflight.splice(0));
  }
  // Calls still open settle now, so every admitted decision has its settle record.
  for (const o of open) push(ledger.append(settleOf(o.id, o.body, traffic.rand)).durable);
  await Promise.all(inflight);
  await ledger.close();
}

const ms = (t: bigint): number => Number(process.hrtime.bigint() - t) / 1e6;
const mb = (bytes: number): string => (bytes / 1048576).toFixed(1);

/** In a fresh process: opens the ledger as `tollgate serve` does and measures it. */
async function measure(dir: string, from: number): Promise<void> {
  const out: Record<string, string | number> = {};
  // Ledger time goes on from where the written traffic stopped, at the pace of the clock.
  const t0 = Date.now();
  const clock = (): number => from + (Date.now() - t0);
  let t = process.hrtime.bigint();
  let ledger = await Ledger.open(dir, { worker: true, clock });
  out.open_ms = ms(t);
  t = process.hrtime.bigint();
  await ledger.recentDecisions(50);
  out.index_ready_ms = ms(t);

  const lat = await acknowledgements(ledger, 400, 7);
  out.ack_p50_ms = lat[Math.floor(lat.length * 0.5)];
  out.ack_p99_ms = lat[Math.floor(lat.length * 0.99)];

  // What the dashboard asks every refresh (server.ts snapshot()).
  t = process.hrtime.bigint();
  await Promise.all([ledger.recentDecisions(50), ledger.spendBy('user'), ledger.spendBy('agent'), ledger.spendBy('model'), ledger.spendBy('day')]);
  out.dashboard_ms = ms(t);
  if (global.gc) global.gc();
  const m = process.memoryUsage();
  out.rss_mb = mb(m.rss);
  out.heap_used_mb = mb(m.heapUsed);

  // Closing saves the index's snapshot (the whole database, as every snapshotEvery records).
  t = process.hrtime.bigint();
  await ledger.close();
  out.close_with_snapshot_ms = ms(t);
  out.snapshot_file_mb = mb(fs.statSync(ledgerPaths(dir).index).size);

  t = process.hrtime.bigint();
  ledger = await Ledger.open(dir, { worker: true, clock });
  await ledger.recentDecisions(50);
  out.restart_ms = ms(t);
  await ledger.close();

  // The index's own memory: loaded on this thread, the wasm heap shows in arrayBuffers.
  const before = process.memoryUsage().arrayBuffers;
  ledger = await Ledger.open(dir, { clock });
  await ledger.recentDecisions(50);
  out.index_memory_mb = mb(process.memoryUsage().arrayBuffers - before);
  await ledger.close();
  out.until = clock();
  console.log(JSON.stringify(out));
}

/**
 * Measures a ledger written before (by `--keep`), to compare builds on the same files: first from no
 * index snapshot (the index is built from the journal), then again in a new process from the
 * snapshot that run saved, as every restart of `tollgate serve` after the first.
 */
function measureAgain(dir: string): void {
  fs.rmSync(ledgerPaths(dir).index, { force: true });
  measureOnce(dir, 'no snapshot');
  measureOnce(dir, 'from snapshot');
}

function measureOnce(dir: string, label: string): void {
  const until = fs.readFileSync(path.join(dir, 'bench-until'), 'utf8').trim();
  const r = spawnSync(process.execPath, ['--expose-gc', process.argv[1], 'measure', dir, until], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const out = r.stdout.trim();
  console.log(`${dir}, ${label}: ${out}`);
  const next = (JSON.parse(out.split('\n').pop() ?? '{}') as { until?: number }).until;
  if (next) fs.writeFileSync(path.join(dir, 'bench-until'), String(next + 1000));
}

/**
 * Acknowledgement latency of `count` decisions appended one at a time, 2 ms apart, each followed by
 * its settle as the proxy writes them; sorted, in ms.
 */
async function acknowledgements(ledger: Ledger, count: number, seed: number): Promise<number[]> {
  const rand = prng(seed);
  const lat: number[] = [];
  for (let i = 0; i < count; i++) {
    const body = decisionOf(i, rand);
    const s = process.hrtime.bigint();
    const { record, durable } = ledger.append(body);
    await durable;
    lat.push(ms(s));
    void ledger.append(settleOf(record.id, body, rand)).durable;
    await new Promise((r) => setTimeout(r, 2));
  }
  return lat.sort((a, b) => a - b);
}

/** Acknowledgement latency alone on a kept copy, opened from its index snapshot: runs of two sizes can alternate. */
async function ackOnly(dir: string): Promise<void> {
  const from = Number(fs.readFileSync(path.join(dir, 'bench-until'), 'utf8').trim());
  const t0 = Date.now();
  const clock = (): number => from + (Date.now() - t0);
  const ledger = await Ledger.open(dir, { worker: true, clock });
  await ledger.recentDecisions(50);
  const lat = await acknowledgements(ledger, 1000, 11);
  await ledger.close();
  fs.writeFileSync(path.join(dir, 'bench-until'), String(clock() + 1000));
  const q = (p: number): string => lat[Math.floor(lat.length * p)].toFixed(2);
  console.log(`${dir}: ack p50 ${q(0.5)} p90 ${q(0.9)} p99 ${q(0.99)} ms`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === 'ack') return ackOnly(args[1]);
  if (args[0] === 'measure') return measure(args[1], Number(args[2]));
  if (args[0] === 'again') return measureAgain(args[1]);
  const points = (args.find((a) => /^[\d,]+$/.test(a)) ?? '1000,100000,1000000').split(',').map(Number);
  const dirAt = args.indexOf('--dir');
  const dir = dirAt >= 0 ? args[dirAt + 1] : fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-scale-'));
  const traffic: Traffic = { decisions: 0, now: START, rand: prng(1) };
  console.log(`ledger in ${dir}; node ${process.version}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}`);
  for (const target of points) {
    const t = process.hrtime.bigint();
    await grow(dir, traffic, target);
    const journal = fs.readdirSync(ledgerPaths(dir).journal).reduce((n, f) => n + fs.statSync(path.join(ledgerPaths(dir).journal, f)).size, 0);
    // No snapshot yet at this size: the index is built from the journal, as after an upgrade or a lost snapshot.
    fs.rmSync(ledgerPaths(dir).index, { force: true });
    console.log(`${target} decisions written (${(ms(t) / 1000).toFixed(1)} s), journal ${mb(journal)} MB`);
    if (args.includes('--keep')) {
      // A copy of the ledger at this size, for `again` to measure with another build.
      fs.cpSync(dir, `${dir}.${target}`, { recursive: true });
      fs.writeFileSync(path.join(`${dir}.${target}`, 'bench-until'), String(traffic.now));
    }
    const r = spawnSync(process.execPath, ['--expose-gc', process.argv[1], 'measure', dir, String(traffic.now)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    console.log(`  at ${target}: ${r.stdout.trim()}`);
    const until = (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { until?: number }).until;
    if (until) traffic.now = Math.max(traffic.now, until) + 1000;
  }
  if (dirAt < 0) fs.rmSync(dir, { recursive: true, force: true });
}

// Bundled, the ledger's thread and its index's thread run this same file.
if (isLedgerIndexThread()) void serveIndexThread();
else if (isLedgerWorkerThread()) void serveLedgerThread();
else void main();
