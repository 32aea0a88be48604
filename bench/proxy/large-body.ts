// How long `tollgate serve` keeps other requests waiting while it takes one large or pathological
// body: the CPU its request thread spends on the call, and how long an admin health probe on a
// fresh connection every 5 ms waits while the body is counted, classified and forwarded.
// Run from the repository root after `npm run build`:
//   node bench/run.js bench/proxy/large-body.ts [other-cli.js]
// With another build's dist/cli.js (e.g. of the commit before), both are measured in one run;
// that build gets only the bodies the size of the issue's, since it takes minutes on larger ones.
import type { ListeningProcess } from '../listening-process';
import { startListening } from '../listening-process';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { cpuMs } from '../proc-cpu';
import { base64Blob, minifiedJs, run } from '../../test/helpers/texts';

const root = process.cwd();
const builds: { name: string; cli: string; large: boolean }[] = [{ name: 'this build', cli: path.join(root, 'dist', 'cli.js'), large: true }];
if (process.argv[2]) builds.unshift({ name: path.relative(root, process.argv[2]), cli: path.resolve(process.argv[2]), large: false });

/** A build's own reference bundle, with room for a large prompt: no context cap to speak of, a large token window. */
function policyFor(cli: string): string {
  return fs.readFileSync(path.join(path.dirname(cli), '..', 'policies', 'reference.yaml'), 'utf8')
    .replace('max_input_tokens: 32000', 'max_input_tokens: 100000000').replace('limit: 200000', 'limit: 1000000000');
}

/** An upstream that reads a body without parsing it and answers at once, in this process. */
function upstream(): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const reply = JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', content: [{ type: 'text', text: 'ok' }], usage: { input_tokens: 10, output_tokens: 2 } });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply) });
      res.end(reply);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

function serve(cli: string, dataDir: string, upstreamUrl: string): Promise<ListeningProcess> {
  const policyPath = path.join(dataDir, 'tollgate.yaml');
  fs.writeFileSync(policyPath, policyFor(cli));
  return startListening([cli, 'serve', '--port', '0', '--data-dir', dataDir, '--policy', policyPath, '--upstream', `anthropic=${upstreamUrl}`], { ANTHROPIC_API_KEY: 'bench-key', OPENAI_API_KEY: 'bench-key' });
}

function request(url: string, headers: Record<string, string>, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: body === undefined ? 'GET' : 'POST', agent: false, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const message = (texts: string[]): string => JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user', content: texts.map((text) => ({ type: 'text', text })) }] });

/** Each body is built again for each pass, one character longer, so no pass finds the last one's work in the tokenizer's cache. */
const bodies: { name: string; large: boolean; body: (pass: number) => string }[] = [
  { name: "the issue's: 60,000 'é' in one message (120 KB)", large: false, body: (k) => message([run('é', 60_000 + k)]) },
  { name: "'a.' x 60,000 (120 KB)", large: false, body: (k) => message([run('a.', 120_000 + k)]) },
  { name: 'one 10 MB word', large: true, body: (k) => message([run('x', 9_999_000 + k)]) },
  {
    name: "9 MB: 1 MB runs of 'é', 'a.', spaces, '-', ' 1', '123-45-678 ', 'a@b.', '+1 415 555 267', 'A'", large: true,
    body: (k) => message(['é', 'a.', ' ', '-', ' 1', '123-45-678 ', 'a@b.', '+1 415 555 267', 'A'].map((u) => run(u, (u === 'é' ? 500_000 : 1_000_000) + k))),
  },
  { name: '10 MB of minified JS in ten texts', large: true, body: (k) => message(Array.from({ length: 10 }, (_, i) => minifiedJs(999_000 + k, 10 * k + i + 1))) },
  { name: '10 MB of base64 in ten texts', large: true, body: (k) => message(Array.from({ length: 10 }, (_, i) => base64Blob(999_000 + k, 10 * k + i + 1))) },
];

async function send(proxyUrl: string, bob: string, body: string): Promise<number> {
  return request(`${proxyUrl}/anthropic/v1/messages`, { authorization: `Bearer ${bob}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body);
}

/** The call alone: how long it took and the CPU the proxy's request thread spent on it. */
async function alone(proxyUrl: string, pid: number, bob: string, body: string): Promise<{ status: number; ms: number; requestThreadMs: number }> {
  const threadStat = `/proc/${pid}/task/${pid}/stat`;
  const linux = fs.existsSync(threadStat);
  const cpuBefore = linux ? cpuMs(threadStat) : 0;
  const started = Date.now();
  const status = await send(proxyUrl, bob, body).catch(() => 0);
  return { status, ms: Date.now() - started, requestThreadMs: linux ? cpuMs(threadStat) - cpuBefore : NaN };
}

/** The call again, with a health probe on a fresh connection every 5 ms until it is answered. */
async function probed(proxyUrl: string, bob: string, admin: string, body: string): Promise<{ probes: number; longestWait: number }> {
  let done = false;
  const pending = send(proxyUrl, bob, body).finally(() => (done = true));
  const waits: number[] = [];
  let answered = 0;
  while (!done) {
    const sent = Date.now();
    // A probe the proxy dropped (its connection reset after the stall) waited all the same.
    await request(`${proxyUrl}/_tollgate/health`, { authorization: `Bearer ${admin}` }).catch(() => 0);
    // A probe sent during the call counts its wait even when the call ended first.
    waits.push(Date.now() - sent);
    if (!done) answered++;
    await new Promise((r) => setTimeout(r, 5));
  }
  await pending.catch(() => 0);
  return { probes: answered, longestWait: Math.max(0, ...waits) };
}

async function main(): Promise<void> {
  console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}`);
  const up = await upstream();
  console.log('\n| build | body | status | call alone, ms | request-thread CPU, ms | health probes answered during the call | longest probe wait, ms |');
  console.log('|---|---|---|---|---|---|---|');
  for (const build of builds) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-large-body-'));
    const proxy = await serve(build.cli, dataDir, up.url);
    try {
      const bob = execFileSync(process.execPath, [build.cli, 'token', '--user', 'bob@acme.dev', '--data-dir', dataDir], { encoding: 'utf8' }).trim();
      const admin = fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
      // A small call first, so the figures below are not the first call's.
      await send(proxy.url, bob, message(['hello']));
      for (const b of bodies) {
        if (b.large && !build.large) continue;
        const a = await alone(proxy.url, proxy.child.pid!, bob, b.body(0));
        const p = await probed(proxy.url, bob, admin, b.body(1));
        console.log(`| ${build.name} | ${b.name} | ${a.status} | ${a.ms} | ${Math.round(a.requestThreadMs)} | ${p.probes} | ${p.longestWait} |`);
      }
    } finally {
      proxy.child.kill('SIGTERM');
      await new Promise((r) => proxy.child.once('exit', r));
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }
  up.server.close();
}

void main();
