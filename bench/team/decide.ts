// Team mode: decisions per second and the latency a shared Redis store adds, beside the memory
// store, in one run on this machine. A redis-server (Debian's, installed by scripts/ensure-redis.sh
// if missing) is started on a loopback port for the run and stopped after.
// Run from the repository root: node bench/run.js bench/team/decide.ts [decisions]
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../../src/engine/decide';
import type { Identity } from '../../src/engine/identity/identity';
import { loadPolicy } from '../../src/engine/policy/loader';
import type { AccumulatorStore } from '../../src/engine/store';
import { describeOpenAICall } from '../../src/providers/openai/request';
import { MemoryStore } from '../../src/store/memory-store';
import { createStore } from '../../src/store/store-factory';
import { startRedis } from '../../test/helpers/redis';

const total = Number(process.argv[2] ?? 20_000);
const text = readFileSync(path.join(process.cwd(), 'policies', 'reference.yaml'), 'utf8');
const loaded = loadPolicy(text, Date.now());
if (!loaded.ok) throw new Error('reference policy failed to load');
const policy = loaded.policy;

const roles = [['marketing-analysts'], ['ml-engineers'], []];
const identities: Identity[] = Array.from({ length: 10_000 }, (_, i) => ({
  user: `user${i}@acme.dev`, agent: i % 7 === 0 ? 'batch-eval' : 'default', session: `s${i}`, roles: roles[i % 3]!, issuer: 'tollgate',
}));
const prompts = ['Summarise this paragraph about budgets in one sentence.', 'What is the capital of France?', 'Write a haiku about rate limits.'];
const calls = prompts.map((p, i) => describeOpenAICall('openai', '/v1/chat/completions', 'POST', { model: i % 2 ? 'gpt-4o-mini' : 'claude-haiku-4-5', messages: [{ role: 'user', content: p }], max_tokens: 256 }));

interface Run {
  readonly seconds: number;
  readonly allowed: number;
  readonly latenciesMs: number[];
}

/** `concurrency` decide+settle chains in flight at once, as a busy proxy has; each decision is timed. */
async function run(store: AccumulatorStore, n: number, concurrency: number, offset: number): Promise<Run> {
  const engine = new Engine(policy, store);
  const latenciesMs: number[] = [];
  let allowed = 0;
  let next = 0;
  const start = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = offset + next++;
      const t = process.hrtime.bigint();
      const now = Date.now();
      const d = await engine.decide({ identity: identities[i % identities.length]!, call: calls[i % calls.length]! }, now);
      if (d.hold) {
        allowed++;
        await engine.settle(d, { input_tokens: d.reserved.input_tokens, output_tokens: 40 }, now);
      }
      latenciesMs.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, allowed, latenciesMs };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

function line(label: string, r: Run, n: number): string {
  return `${label.padEnd(34)} ${Math.round(n / r.seconds).toLocaleString('en-US').padStart(8)} decisions/s   p50 ${pct(r.latenciesMs, 50).toFixed(3)} ms   p99 ${pct(r.latenciesMs, 99).toFixed(3)} ms   (allowed ${r.allowed})`;
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const shared = await createStore(redis.url, policy, { startupWaitMs: 5000 });
  try {
    const memory = new MemoryStore();
    // Warm-up: JIT, script loading (EVALSHA after the first EVAL), connection.
    await run(memory, 2000, 1, 0);
    await run(shared, 2000, 16, 0);
    const rows: string[] = [];
    const results: Record<string, Run> = {};
    for (const [label, store, concurrency] of [
      ['memory, 1 in flight', memory, 1],
      ['redis,  1 in flight', shared, 1],
      ['memory, 64 in flight', memory, 64],
      ['redis,  64 in flight', shared, 64],
    ] as const) {
      const r = await run(store, total, concurrency, 100_000);
      results[label] = r;
      rows.push(line(label, r, total));
    }
    console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}, redis on 127.0.0.1 (same machine)`);
    console.log(`decisions per configuration: ${total} (decide + settle, reference bundle, 10,000 identities)`);
    for (const r of rows) console.log(r);
    const added = pct(results['redis,  1 in flight']!.latenciesMs, 50) - pct(results['memory, 1 in flight']!.latenciesMs, 50);
    console.log(`added latency per decision+settle (p50, 1 in flight): ${added.toFixed(3)} ms (two round trips: reserve script, settle script)`);
  } finally {
    await shared.close();
    await redis.dispose();
  }
}

void main();
