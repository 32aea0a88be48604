// Requests per second and latency percentiles, in one run, for (a) the upstream direct, (b) a bare
// http-proxy pass-through and (c) `tollgate serve` with the reference bundle, small non-streaming
// bodies and streaming, at 32 connections.
// Run from the repository root after `npm run build`: node bench/run.js bench/proxy/run.ts [seconds]
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { cpuMs } from '../proc-cpu';
import { mintSessionToken } from '../../src/engine/identity/tokens';
import { loadSessionKeys } from '../../src/store/session-key';

const seconds = Number(process.argv[2] ?? 10);
const connections = 32;
const root = process.cwd();
const cli = path.join(root, 'dist', 'cli.js');
const servers = path.join(root, 'bench', '.out', 'proxy-servers.js');

function start(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, ...env } });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}`)));
  });
}

interface Result {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  /** CPU time per request: in the process under test, its request thread, and in all processes of the run. */
  cpu: { proxy: number; requestThread: number; all: number } | null;
}

/** CPU used so far: by the process under test (first of `pids`) and its request thread, by all of `pids`, and by this one. */
function cpuNow(pids: number[]): { proxy: number; requestThread: number; processes: number; self: number } {
  const each = pids.map((pid) => cpuMs(`/proc/${pid}/stat`));
  return {
    proxy: each[0] ?? 0,
    requestThread: pids.length ? cpuMs(`/proc/${pids[0]}/task/${pids[0]}/stat`) : 0,
    processes: each.reduce((n, ms) => n + ms, 0),
    self: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
  };
}

/** Loads `url` for the set time; `proxyPid` is the process under test, `otherPids` the rest of the chain. */
async function load(url: string, headersList: Record<string, string>[], body: string, proxyPid: number | null, otherPids: number[], clients = connections): Promise<Result> {
  let i = 0;
  const linux = fs.existsSync('/proc/self/stat');
  const pids = proxyPid === null ? otherPids : [proxyPid, ...otherPids];
  const before = linux ? cpuNow(pids) : null;
  const r = await autocannon({
    url, connections: clients, duration: seconds, method: 'POST', body,
    // A different identity per request, as a team's traffic is: one identity's own burst limit would refuse most of it.
    requests: [{ setupRequest: (req) => ({ ...req, headers: { 'content-type': 'application/json', ...headersList[i++ % headersList.length] } }) }],
  });
  let cpu: Result['cpu'] = null;
  if (before && r.requests.total > 0) {
    const after = cpuNow(pids);
    const perRequest = (ms: number): number => Math.round((ms * 1000) / r.requests.total);
    cpu = {
      proxy: proxyPid === null ? 0 : perRequest(after.proxy - before.proxy),
      requestThread: proxyPid === null ? 0 : perRequest(after.requestThread - before.requestThread),
      all: perRequest(after.processes - before.processes + after.self - before.self),
    };
  }
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, cpu };
}

async function main(): Promise<void> {
  // Bundle the helper servers the same way the product is bundled.
  execFileSync(process.execPath, [path.join(root, 'bench', 'run.js'), '--build-only', 'bench/proxy/servers.ts'], { stdio: 'inherit' });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-bench-'));
  const up = await start([servers, 'upstream']);
  const bare = await start([servers, 'bare', up.url]);
  const tg = await start([cli, 'serve', '--port', '0', '--data-dir', dataDir, '--upstream', `openai=${up.url}`, '--log-level', 'warn'], { OPENAI_API_KEY: 'bench-upstream-key' });
  // 2,000 people, each on the batch-eval agent (the reference bundle's exception: burst 500, 6000/min).
  const keys = loadSessionKeys(dataDir);
  const tokens = await Promise.all(Array.from({ length: 2000 }, (_, i) => mintSessionToken(keys, { user: `dev${i}@acme.dev`, agent: 'batch-eval', ttlMs: 3_600_000, now: Date.now() })));
  const auth = tokens.map((t) => ({ authorization: `Bearer ${t}` }));
  const plain = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello in five words.' }], max_tokens: 16 });
  const streamed = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello in five words.' }], max_tokens: 16, stream: true, stream_options: { include_usage: true } });
  const rows: string[] = [];
  for (const [label, body] of [['non-streaming', plain], ['streaming', streamed]] as const) {
    const direct = await load(`${up.url}/v1/chat/completions`, [{}], body, null, [up.child.pid!]);
    const viaBare = await load(`${bare.url}/openai/v1/chat/completions`, [{}], body, bare.child.pid!, [up.child.pid!]);
    const viaTollgate = await load(`${tg.url}/openai/v1/chat/completions`, auth, body, tg.child.pid!, [up.child.pid!]);
    const cpu = (r: Result, proxy: boolean): string => {
      if (!r.cpu) return '| | |';
      return `| ${proxy ? `${r.cpu.proxy} (${r.cpu.requestThread} on the request thread)` : ''} | ${r.cpu.all} |`;
    };
    const fmt = (name: string, r: Result, proxy: boolean): string =>
      `| ${label} | ${name} | ${Math.round(r.rps).toLocaleString('en-US')} | ${r.p50} | ${r.p99} | ${r.non2xx} ${cpu(r, proxy)}`;
    rows.push(fmt('upstream direct', direct, false), fmt('bare http-proxy', viaBare, true), fmt('tollgate serve', viaTollgate, true));
    rows.push(`| ${label} | **tollgate / bare** | **${(viaTollgate.rps / viaBare.rps).toFixed(2)}** | | **+${viaTollgate.p99 - viaBare.p99} ms p99** | | | |`);
  }
  console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}; ${connections} connections, ${seconds}s each`);
  console.log('CPU µs/req: CPU time per request in the proxy process, and in every process of the run (load generator, proxy, upstream).');
  console.log('| body | target | req/s | p50 ms | p99 ms | non-2xx | proxy CPU µs/req | all CPU µs/req |\n|---|---|---|---|---|---|---|---|');
  console.log(rows.join('\n'));
  // One client, one call at a time: the latency a call gains through each proxy when nothing queues.
  const alone: string[] = [];
  for (const [label, body] of [['non-streaming', plain], ['streaming', streamed]] as const) {
    const viaBare = await load(`${bare.url}/openai/v1/chat/completions`, [{}], body, bare.child.pid!, [up.child.pid!], 1);
    const viaTollgate = await load(`${tg.url}/openai/v1/chat/completions`, auth, body, tg.child.pid!, [up.child.pid!], 1);
    alone.push(`| ${label} | ${viaBare.p50} | ${viaBare.p99} | ${viaTollgate.p50} | ${viaTollgate.p99} | **+${viaTollgate.p99 - viaBare.p99} ms** |`);
  }
  console.log('\none connection, one call at a time:');
  console.log('| body | bare p50 ms | bare p99 ms | tollgate p50 ms | tollgate p99 ms | added p99 |\n|---|---|---|---|---|---|');
  console.log(alone.join('\n'));
  // The proxy first, so it does not log the upstream going away while it drains.
  tg.child.kill('SIGTERM');
  await new Promise((r) => tg.child.once('exit', r));
  for (const p of [bare, up]) p.child.kill('SIGTERM');
}

void main();
