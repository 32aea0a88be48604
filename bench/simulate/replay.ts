// Traffic lines per second through `tollgate simulate`'s own path (read file, parse lines, replay
// through Engine + MemoryStore, report), alone and with a baseline policy, beside a baseline that
// only reads and parses the lines, measured in the same run on one core.
// Run from the repository root: node bench/run.js bench/simulate/replay.ts [lines]
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadPolicy } from '../../src/engine/policy/loader';
import type { Policy } from '../../src/engine/policy/model';
import { readTrafficFile, simulate } from '../../src/simulate/simulate';
import { parseTrafficLine } from '../../src/simulate/traffic';

const total = Number(process.argv[2] ?? 1_000_000);
const text = readFileSync(path.join(process.cwd(), 'policies', 'reference.yaml'), 'utf8');

function policyOf(source: string): Policy {
  const loaded = loadPolicy(source, Date.parse('2026-11-23T00:00:00Z'));
  if (!loaded.ok) throw new Error('policy failed to load');
  return loaded.policy;
}

/** A day of traffic from 10,000 people (a third per role, a third with none), every seventh on batch-eval; one line in 50 has literal messages. */
async function writeTraffic(file: string, n: number): Promise<void> {
  const out = createWriteStream(file);
  const t0 = Date.parse('2026-11-23T00:00:00Z');
  const step = 86_400_000 / n;
  const roles = ['marketing-analysts', 'ml-engineers', ''];
  let buf = '';
  for (let i = 0; i < n; i++) {
    const u = (i * 7919) % 10_000;
    const role = roles[u % 3];
    const line: Record<string, unknown> = {
      time: new Date(t0 + Math.floor(i * step)).toISOString(), user: `user${u}@acme.dev`, agent: u % 7 === 0 ? 'batch-eval' : 'default', roles: role ? [role] : [],
      provider: i % 2 ? 'openai' : 'anthropic', model: i % 2 ? 'gpt-4o-mini' : 'claude-haiku-4-5', max_tokens: 256, output_tokens: 100 + (i % 150),
    };
    if (i % 50 === 0) line.messages = [{ role: 'user', content: 'Summarise this paragraph about budgets in one sentence.' }];
    else line.input_tokens = 200 + (i % 800);
    if (i % 10 === 0) line.trace = `t${Math.floor(i / 40)}`;
    buf += `${JSON.stringify(line)}\n`;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
      buf = '';
    }
  }
  out.end(buf);
  await new Promise<void>((r) => out.once('finish', () => r()));
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tollgate-bench-sim-'));
  const file = path.join(dir, 'traffic.jsonl');
  try {
    await writeTraffic(file, total);
    const mb = statSync(file).size / 1e6;
    console.log(`${total} lines, ${mb.toFixed(0)} MB`);

    let start = process.hrtime.bigint();
    let parsed = 0;
    for await (const { text: l, line } of readTrafficFile(file)) if (parseTrafficLine(l, line)) parsed++;
    const parseS = Number(process.hrtime.bigint() - start) / 1e9;
    console.log(`read + parse only:          ${parseS.toFixed(2)} s, ${Math.round(parsed / parseS).toLocaleString('en-US')} lines/s`);

    const policy = policyOf(text);
    start = process.hrtime.bigint();
    const r = await simulate(readTrafficFile(file), { policy });
    const simS = Number(process.hrtime.bigint() - start) / 1e9;
    console.log(`simulate:                   ${simS.toFixed(2)} s, ${Math.round(total / simS).toLocaleString('en-US')} lines/s; ${r.policy.totals.refused} refused, ${r.policy.identities.length} identities, $${r.policy.totals.usd.toFixed(2)}`);

    const proposed = policyOf(text.replace('rate: 1000/h\n    burst: 100', 'rate: 2000/h\n    burst: 200'));
    start = process.hrtime.bigint();
    const d = await simulate(readTrafficFile(file), { policy: proposed, baseline: policy });
    const diffS = Number(process.hrtime.bigint() - start) / 1e9;
    console.log(`simulate with a baseline:   ${diffS.toFixed(2)} s, ${Math.round(total / diffS).toLocaleString('en-US')} lines/s; ${d.changes?.length ?? 0} identities change`);
    console.log(`peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
