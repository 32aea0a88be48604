// Decisions per second for the reference bundle across 10,000 identities, beside a baseline that
// only parses and describes the request, measured in the same run on one core.
// Run from the repository root: node bench/run.js bench/engine/decide.ts [decisions]
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../../src/engine/decide';
import type { Identity } from '../../src/engine/identity/identity';
import { loadPolicy } from '../../src/engine/policy/loader';
import { describeOpenAICall } from '../../src/providers/openai/request';
import { MemoryStore } from '../../src/store/memory-store';

const total = Number(process.argv[2] ?? 300_000);
const text = readFileSync(path.join(process.cwd(), 'policies', 'reference.yaml'), 'utf8');
const loaded = loadPolicy(text, Date.parse('2026-11-23T00:00:00Z'));
if (!loaded.ok) throw new Error('reference policy failed to load');
const policy = loaded.policy;

const roles = [['marketing-analysts'], ['ml-engineers'], []];
const identities: Identity[] = Array.from({ length: 10_000 }, (_, i) => ({
  user: `user${i}@acme.dev`, agent: i % 7 === 0 ? 'batch-eval' : 'default', session: `s${i}`, roles: roles[i % 3]!, issuer: 'tollgate',
}));
const prompts = ['Summarise this paragraph about budgets in one sentence.', 'What is the capital of France?', 'Write a haiku about rate limits.', 'Classify the sentiment: the release went well.'];
const bodies = prompts.map((p, i) => Buffer.from(JSON.stringify({ model: i % 2 ? 'gpt-4o-mini' : 'claude-haiku-4-5', messages: [{ role: 'user', content: p }], max_tokens: 256 })));

function parseOnly(n: number): number {
  const start = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < n; i++) sink += describeOpenAICall('openai', '/v1/chat/completions', 'POST', JSON.parse(bodies[i % bodies.length]!.toString('utf8'))).inputTokens;
  if (sink < 0) console.log(sink);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const described = bodies.map((b) => describeOpenAICall('openai', '/v1/chat/completions', 'POST', JSON.parse(b.toString('utf8'))));

/** With `parse`, each request is parsed and described first, as the proxy does; without, only the engine runs. */
async function decideAll(n: number, parse = true): Promise<{ seconds: number; allowed: number }> {
  const engine = new Engine(policy, new MemoryStore());
  const t0 = Date.parse('2026-11-23T09:00:00Z');
  let allowed = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const call = parse ? describeOpenAICall('openai', '/v1/chat/completions', 'POST', JSON.parse(bodies[i % bodies.length]!.toString('utf8'))) : described[i % described.length]!;
    // 10,000 identities at ~1 request per identity per 3 s, so limits mostly admit.
    const now = t0 + Math.floor(i / 3);
    const d = await engine.decide({ identity: identities[i % identities.length]!, call }, now);
    if (d.hold) {
      allowed++;
      await engine.settle(d, { input_tokens: d.reserved.input_tokens, output_tokens: 40 }, now);
    }
  }
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, allowed };
}

async function main(): Promise<void> {
  parseOnly(20_000);
  await decideAll(20_000); // warm-up
  const base = parseOnly(total);
  const run = await decideAll(total);
  const engineOnly = await decideAll(total, false);
  const baseRate = total / base;
  const rate = total / run.seconds;
  console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}`);
  console.log(`requests: ${total}, identities: ${identities.length}, allowed: ${run.allowed}`);
  console.log(`baseline (parse + describe only): ${Math.round(baseRate).toLocaleString('en-US')} req/s`);
  console.log(`parse + decide + settle:          ${Math.round(rate).toLocaleString('en-US')} decisions/s`);
  console.log(`decide + settle (engine only):    ${Math.round(total / engineOnly.seconds).toLocaleString('en-US')} decisions/s`);
  console.log(`ratio decide/baseline: ${(rate / baseRate).toFixed(2)}`);
}

void main();
