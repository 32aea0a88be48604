import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startRedis } from '../../helpers/redis';
import type { TestRedis } from '../../helpers/redis';

// Team mode end to end: two `tollgate serve --store redis://...` processes share one Redis and one
// policy; hundreds of concurrent requests split across them never push the combined admitted
// count past the token bucket nor the combined spend past the budget, including while Redis is
// stopped and restarted (fail closed with 503, then recover with its state intact).

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const UPSTREAM_KEY = ['sk', 'test', 'team', 'upstream', '0000'].join('-');
const BURST = 150;
const BUDGET_USD = 1;

function policyText(upstream: string): string {
  return `version: 1
name: team-mode-test
providers:
  openai: { upstream: ${upstream}, style: openai, key_env: OPENAI_API_KEY }
identity:
  required: true
prices:
  gpt-4o-mini: { input: 1000, output: 1000 }  # $0.001 a token, so spend adds up quickly
limits:
  - id: team-burst
    per: user
    algorithm: token-bucket
    rate: 1/h
    burst: ${BURST}
    cost: requests
budgets:
  - id: team-usd
    per: user
    period: day
    limit_usd: ${BUDGET_USD}
    on_exceed: refuse
entitlements:
  default:
    models: ["*"]
    routes: [/v1/chat/completions]
`;
}

/** An OpenAI-style upstream on 127.0.0.1 that answers after a short delay with 5 + 5 tokens of usage. */
class SlowUpstream {
  served = 0;
  private server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      setTimeout(() => {
        this.served++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({
          id: `chatcmpl-${this.served}`, object: 'chat.completion', created: 0, model: 'gpt-4o-mini',
          choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
        }));
      }, 15);
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

interface Proxy {
  readonly url: string;
  readonly dataDir: string;
  readonly token: string;
  readonly child: ChildProcess;
  stderr(): string;
}

async function startProxy(policyPath: string, redisUrl: string, upstream: string): Promise<Proxy> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-team-'));
  const env = { ...process.env, OPENAI_API_KEY: UPSTREAM_KEY };
  const token = execFileSync(process.execPath, [CLI, 'token', '--user', 'alice@acme.dev', '--data-dir', dataDir], { env }).toString().trim();
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--policy', policyPath, '--data-dir', dataDir, '--upstream', `openai=${upstream}`, '--store', redisUrl], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`proxy did not start: ${err}`)), 15_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /tollgate listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`proxy exited with ${code}: ${err}`));
    });
  });
  return { url, dataDir, token, child, stderr: () => err };
}

async function stopProxy(p: Proxy): Promise<number | null> {
  if (p.child.exitCode !== null) return p.child.exitCode;
  return new Promise((resolve) => {
    const timer = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
    p.child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    p.child.kill('SIGTERM');
  });
}

async function call(p: Proxy): Promise<{ status: number; body: string }> {
  const res = await fetch(`${p.url}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${p.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }),
  });
  return { status: res.status, body: await res.text() };
}

interface LedgerLine {
  kind: string;
  outcome?: string;
  status?: number;
  usd?: number;
  decision?: string;
  id: string;
}

function ledgerOf(dirs: string[]): LedgerLine[] {
  const out = execFileSync(process.execPath, [CLI, 'audit', 'export', '--format', 'jsonl', ...dirs.flatMap((d) => ['--data-dir', d])]).toString();
  return out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as LedgerLine);
}

/** Sends `n` requests, `concurrency` at a time, alternating between the proxies. */
async function load(proxies: Proxy[], n: number, concurrency: number, onEach?: (i: number) => Promise<void> | void): Promise<{ status: number; body: string }[]> {
  const results: { status: number; body: string }[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      await onEach?.(i);
      results[i] = await call(proxies[i % proxies.length]!);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

describe('team mode: two tollgate serve processes sharing one Redis', function () {
  this.timeout(120_000);
  let redis: TestRedis;
  let upstream: SlowUpstream;
  let upstreamUrl: string;
  let policyPath: string;
  const proxies: Proxy[] = [];

  before(async function () {
    this.timeout(300_000);
    // Persistence on, as a team deployment would run it, so a restart keeps the shared state.
    redis = await startRedis(['--appendonly', 'yes', '--appendfsync', 'always']);
    if (!fs.existsSync(CLI)) execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
    upstream = new SlowUpstream();
    upstreamUrl = await upstream.start();
    policyPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-team-policy-')), 'tollgate.yaml');
    fs.writeFileSync(policyPath, policyText(upstreamUrl));
  });

  afterEach(async () => {
    for (const p of proxies.splice(0)) await stopProxy(p);
  });

  after(async () => {
    await upstream?.stop();
    await redis?.dispose();
  });

  it('admits no more than the shared bucket and spends no more than the shared budget across both proxies, through a Redis restart', async () => {
    proxies.push(await startProxy(policyPath, redis.url, upstreamUrl), await startProxy(policyPath, redis.url, upstreamUrl));
    let outage: Promise<void> | undefined;
    const results = await load(proxies, 400, 24, (i) => {
      // A third of the way in, Redis goes away for a moment and comes back with its data.
      if (i === 120) {
        outage = (async () => {
          await redis.stop();
          await new Promise((r) => setTimeout(r, 600));
          await redis.start();
        })();
      }
    });
    await outage;
    // After the restart the proxies reconnect and decide again from the shared state.
    let after = await call(proxies[0]!);
    for (let i = 0; i < 100 && after.status === 503; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await call(proxies[i % 2]!);
    }
    assert.ok(after.status === 200 || after.status === 429, `after the restart: ${after.status} ${after.body}`);

    const byStatus = new Map<number, number>();
    for (const r of results) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
    const admitted = byStatus.get(200) ?? 0;
    const unexpected = [...byStatus.keys()].filter((s) => s !== 200 && s !== 429 && s !== 503);
    assert.deepEqual(unexpected, [], `statuses: ${JSON.stringify([...byStatus])}`);
    assert.ok((byStatus.get(503) ?? 0) > 0, `Redis was down for a while, so some calls were refused with 503: ${JSON.stringify([...byStatus])}`);
    const unavailable = results.find((r) => r.status === 503)!;
    assert.match(unavailable.body, /accumulator store/i, 'the 503 says why');
    assert.ok(admitted > 20, `admitted ${admitted}: the shared limits still admit`);
    assert.ok(admitted + (after.status === 200 ? 1 : 0) <= BURST, `admitted ${admitted} > burst ${BURST}`);
    assert.equal(upstream.served, admitted + (after.status === 200 ? 1 : 0), 'nothing refused reached the provider');

    // Each proxy's own ledger holds its half; merged, the spend stays within the budget.
    for (const p of proxies) assert.equal(await stopProxy(p), 0, p.stderr());
    const records = ledgerOf(proxies.map((p) => p.dataDir));
    const decisions = records.filter((r) => r.kind === 'decision');
    assert.ok(decisions.length >= 400, `${decisions.length} decisions recorded`);
    assert.ok(decisions.some((r) => r.status === 503), 'outage refusals are in the ledger');
    const spent = records.filter((r) => r.kind === 'settle').reduce((s, r) => s + (r.usd ?? 0), 0);
    assert.ok(spent <= BUDGET_USD + 1e-9, `spent $${spent} > $${BUDGET_USD}`);
    assert.ok(spent > BUDGET_USD * 0.5, `spent $${spent}: the budget was the binding limit`);
  });
});
