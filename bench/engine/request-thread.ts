// CPU and allocation per proxied call on `tollgate serve`'s request thread, for one or more builds
// run alternately (on a shared machine only alternating runs compare): the bench's mock upstream,
// 32 connections, the reference bundle with 2,000 people on the batch-eval agent, each of whom
// has made one call before measuring starts (so token verification is as in steady use).
// Per build and body: calls/s, the request thread's user and system CPU per call, the whole
// process's, and the request thread's heap allocation and garbage collections per call.
// Run from the repository root after `npm run build`:
//   node bench/run.js bench/engine/request-thread.ts [seconds] [rounds] [dir-with-dist ...]
// (each directory holds a build's dist/ and policies/; default: this checkout).
import type { ListeningProcess } from '../listening-process';
import { startListening } from '../listening-process';
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { mintSessionToken } from '../../src/engine/identity/tokens';
import { loadSessionKeys } from '../../src/store/session-key';

const seconds = Number(process.argv[2] ?? 10);
const rounds = Number(process.argv[3] ?? 1);
const root = process.cwd();
const builds = process.argv.length > 4 ? process.argv.slice(4) : [root];
const connections = 32;
const servers = path.join(root, 'bench', '.out', 'proxy-servers.js');
const preload = path.join(root, 'bench', '.out', 'request-thread-gc.js');
const clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

// Loaded into the proxy: on SIGUSR2 it writes what its main thread allocated and collected so far.
// Allocation is the growth of the used heap between collections, from V8's own GC statistics.
const preloadSource = `
const { isMainThread } = require('node:worker_threads');
if (isMainThread) {
  const v8 = require('node:v8'); const fs = require('node:fs');
  let profiler = new v8.GCProfiler(); profiler.start();
  const total = { allocated: 0, collections: 0, lastAfter: v8.getHeapStatistics().used_heap_size };
  process.on('SIGUSR2', () => {
    const r = profiler.stop(); profiler = new v8.GCProfiler(); profiler.start();
    for (const s of r.statistics) {
      total.allocated += s.beforeGC.heapStatistics.usedHeapSize - total.lastAfter;
      total.lastAfter = s.afterGC.heapStatistics.usedHeapSize;
      total.collections++;
    }
    const out = { allocated: total.allocated + v8.getHeapStatistics().used_heap_size - total.lastAfter, collections: total.collections };
    const file = process.env.TOLLGATE_BENCH_GC_FILE;
    fs.writeFileSync(file + '.tmp', JSON.stringify(out)); fs.renameSync(file + '.tmp', file);
  });
}
`;

/** User and system CPU milliseconds of a process or thread, from its /proc stat file. */
function cpu(statFile: string): { user: number; sys: number } {
  const stat = fs.readFileSync(statFile, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: (Number(f[11]) * 1000) / clockTicks, sys: (Number(f[12]) * 1000) / clockTicks };
}

const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function start(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ListeningProcess> {
  return startListening(args, env, children);
}

async function heap(pid: number, file: string): Promise<{ allocated: number; collections: number }> {
  fs.rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 500 && !fs.existsSync(file); i++) await new Promise((r) => setTimeout(r, 20));
  return JSON.parse(fs.readFileSync(file, 'utf8')) as { allocated: number; collections: number };
}

async function measure(build: string, upstream: string, body: Record<string, string>): Promise<string[]> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-bench-'));
  const gcFile = path.join(dataDir, 'gc.json');
  const tg = await start(['--require', preload, path.join(build, 'dist', 'cli.js'), 'serve', '--port', '0', '--data-dir', dataDir, '--upstream', `openai=${upstream}`, '--log-level', 'error'], { OPENAI_API_KEY: 'bench-upstream-key', TOLLGATE_BENCH_GC_FILE: gcFile });
  const pid = tg.child.pid!;
  const keys = loadSessionKeys(dataDir);
  const tokens = await Promise.all(Array.from({ length: 2000 }, (_, i) => mintSessionToken(keys, { user: `dev${i}@acme.dev`, agent: 'batch-eval', ttlMs: 3_600_000, now: Date.now() })));
  let next = 0;
  const requests: autocannon.Request[] = [{ setupRequest: (req) => ({ ...req, headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[next++ % tokens.length]}` } }) }];
  const url = `${tg.url}/openai/v1/chat/completions`;
  await autocannon({ url, connections: 8, amount: tokens.length, method: 'POST', body: Object.values(body)[0], requests });
  const rows: string[] = [];
  for (const [label, text] of Object.entries(body)) {
    const h0 = await heap(pid, gcFile);
    const t0 = cpu(`/proc/${pid}/task/${pid}/stat`);
    const p0 = cpu(`/proc/${pid}/stat`);
    const r = await autocannon({ url, connections, duration: seconds, method: 'POST', body: text, requests });
    const t1 = cpu(`/proc/${pid}/task/${pid}/stat`);
    const p1 = cpu(`/proc/${pid}/stat`);
    const h1 = await heap(pid, gcFile);
    const n = r.requests.total;
    const us = (ms: number): number => Math.round((ms * 1000) / n);
    rows.push(`| ${path.basename(build)} | ${label} | ${Math.round(r.requests.average)} | ${us(t1.user - t0.user)} + ${us(t1.sys - t0.sys)} = ${us(t1.user + t1.sys - t0.user - t0.sys)} | ${us(p1.user + p1.sys - p0.user - p0.sys)} | ${((h1.allocated - h0.allocated) / n / 1024).toFixed(1)} | ${h1.collections - h0.collections} | ${r.non2xx} |`);
  }
  tg.child.kill('SIGTERM');
  await new Promise((r) => tg.child.once('exit', r));
  fs.rmSync(dataDir, { recursive: true, force: true });
  return rows;
}

async function main(): Promise<void> {
  execFileSync(process.execPath, [path.join(root, 'bench', 'run.js'), '--build-only', 'bench/proxy/servers.ts'], { stdio: 'inherit' });
  fs.writeFileSync(preload, preloadSource);
  const up = await start([servers, 'upstream']);
  const message = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello in five words.' }], max_tokens: 16 };
  const body = { 'non-streaming': JSON.stringify(message), streaming: JSON.stringify({ ...message, stream: true, stream_options: { include_usage: true } }) };
  console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}; ${connections} connections, ${seconds}s each; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log('| build | body | calls/s | request thread CPU µs/call (user + sys) | process CPU µs/call | request thread KB allocated/call | collections | non-2xx |\n|---|---|---|---|---|---|---|---|');
  for (let i = 0; i < rounds; i++) {
    for (const build of builds) for (const row of await measure(build, up.url, body)) console.log(row);
  }
  up.child.kill('SIGTERM');
}

void main();
