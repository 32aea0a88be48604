// What an agent-sized prompt costs the proxy, against a small prompt in the same run: a coding
// agent's first request (Anthropic Messages, a system prompt, 24 tools, about 40,000 tokens as the
// proxy counts them, like Claude Code's) and a one-line prompt, each sent to the mock upstream
// directly and through `tollgate serve`. For each: calls/s and p50/p99 latency at 8 connections,
// CPU per call of the proxy's request thread and of its whole process (from /proc; bodies over
// 8 KB are counted and classified on a describe thread), and p50/p99 one call at a time. First,
// in this process, what reading one such body costs alone: parsing, counting, classifying.
// Each call's last message differs (a counter), the system prompt and tools stay the same, as in
// an agent's session.
// Run from the repository root after `npm run build`: node bench/run.js bench/proxy/agent-prompt.ts [seconds]
import type { ListeningProcess } from '../listening-process';
import { startListening } from '../listening-process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { cpuMs } from '../proc-cpu';
import { mintSessionToken } from '../../src/engine/identity/tokens';
import { describeAnthropicCall } from '../../src/providers/anthropic/request';
import { loadSessionKeys } from '../../src/store/session-key';
import type { DetectorName } from '../../src/engine/classify';
import { detect, detectors } from '../../src/engine/classify';
import { leastMs } from '../../test/helpers/texts';
import { agentTemplate, benchPolicy, smallTemplate } from './agent-body';
import type { BodyTemplate } from './agent-body';

const connections = 8;

/** The mock upstream, in a process of its own: reads the body without parsing it and answers at once. */
function upstream(): void {
  const reply = JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-haiku-4-5', content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', usage: { input_tokens: 40_000, output_tokens: 2 } });
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply) });
      res.end(reply);
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

const start = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<ListeningProcess> => startListening(args, env);

interface Result {
  callsPerS: number;
  p50: number;
  p99: number;
  non2xx: number;
  calls: number;
  /** CPU ms per call: the proxy's request thread and its whole process (null when measuring the mock alone). */
  cpu: { requestThread: number; process: number } | null;
}

async function load(url: string, t: BodyTemplate, auth: Record<string, string>[], proxyPid: number | null, seconds: number, clients: number): Promise<Result> {
  let i = 0;
  const linux = fs.existsSync('/proc/self/stat');
  const before = linux && proxyPid !== null ? { thread: cpuMs(`/proc/${proxyPid}/task/${proxyPid}/stat`), proc: cpuMs(`/proc/${proxyPid}/stat`) } : null;
  const r = await autocannon({
    url, connections: clients, duration: seconds, method: 'POST',
    requests: [{
      setupRequest: (req) => {
        const n = i++;
        return { ...req, body: `${t.before}${n}${t.after}`, headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...(auth.length ? auth[n % auth.length] : {}) } };
      },
    }],
  });
  let cpu: Result['cpu'] = null;
  if (before && r.requests.total > 0) {
    const per = (ms: number): number => ms / r.requests.total;
    cpu = { requestThread: per(cpuMs(`/proc/${proxyPid}/task/${proxyPid}/stat`) - before.thread), process: per(cpuMs(`/proc/${proxyPid}/stat`) - before.proc) };
  }
  return { callsPerS: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, calls: r.requests.total, cpu };
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 10);
  const self = process.argv[1]!;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-agent-bench-'));
  const policyPath = path.join(dataDir, 'tollgate.yaml');
  fs.writeFileSync(policyPath, benchPolicy());
  const up = await start([self, 'upstream']);
  const tg = await start([path.join(process.cwd(), 'dist', 'cli.js'), 'serve', '--port', '0', '--data-dir', dataDir, '--policy', policyPath, '--upstream', `anthropic=${up.url}`, '--log-level', 'warn'], { ANTHROPIC_API_KEY: 'bench-upstream-key' });
  try {
    // 4,000 people on the batch-eval agent (the reference bundle's exception: burst 500, 6000/min), so
    // no one person's rate or budget refuses the run.
    const keys = loadSessionKeys(dataDir);
    const tokens = await Promise.all(Array.from({ length: 4000 }, (_, i) => mintSessionToken(keys, { user: `dev${i}@acme.dev`, agent: 'batch-eval', ttlMs: 3_600_000, now: Date.now() })));
    const auth = tokens.map((t) => ({ authorization: `Bearer ${t}` }));
    const bodies = [smallTemplate(), agentTemplate()];
    console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}; ${seconds}s per row`);
    for (const b of bodies) console.log(`${b.name} prompt: ${b.bytes.toLocaleString('en-US')} bytes, ${b.tokens.toLocaleString('en-US')} tokens as the proxy counts them`);
    console.log('\nreading one body in this process (least of 20 runs, ms):');
    console.log('| prompt | JSON.parse | describe (count) | classify (every detector, classified texts) |\n|---|---|---|---|');
    for (const b of bodies) {
      const text = `${b.before}1${b.after}`;
      const parsed = JSON.parse(text) as unknown;
      const call = describeAnthropicCall('anthropic', '/v1/messages', 'POST', parsed);
      const names = Object.keys(detectors) as DetectorName[];
      const ms = [leastMs(() => JSON.parse(text), 20), leastMs(() => describeAnthropicCall('anthropic', '/v1/messages', 'POST', parsed), 20), leastMs(() => detect(call.texts, names), 20)];
      console.log(`| ${b.name} | ${ms.map((m) => m.toFixed(2)).join(' | ')} |`);
    }
    // Warm both paths (the describe threads load, the tokenizer's tables fill).
    for (const b of bodies) await load(`${tg.url}/anthropic/v1/messages`, b, auth, null, 2, connections);

    console.log(`\n${connections} connections:`);
    console.log('| prompt | target | calls/s | p50 ms | p99 ms | non-2xx | request thread CPU ms/call | proxy process CPU ms/call |\n|---|---|---|---|---|---|---|---|');
    for (const b of bodies) {
      const direct = await load(`${up.url}/v1/messages`, b, [], null, seconds, connections);
      const via = await load(`${tg.url}/anthropic/v1/messages`, b, auth, tg.child.pid!, seconds, connections);
      const row = (target: string, r: Result): string =>
        `| ${b.name} | ${target} | ${Math.round(r.callsPerS).toLocaleString('en-US')} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.cpu ? r.cpu.requestThread.toFixed(2) : ''} | ${r.cpu ? r.cpu.process.toFixed(2) : ''} |`;
      console.log(row('mock direct', direct));
      console.log(row('tollgate serve', via));
    }

    console.log('\none connection, one call at a time:');
    console.log('| prompt | direct p50 ms | direct p99 ms | tollgate p50 ms | tollgate p99 ms | added p50 | added p99 | request thread CPU ms/call | proxy process CPU ms/call |\n|---|---|---|---|---|---|---|---|---|');
    for (const b of bodies) {
      const direct = await load(`${up.url}/v1/messages`, b, [], null, seconds, 1);
      const via = await load(`${tg.url}/anthropic/v1/messages`, b, auth, tg.child.pid!, seconds, 1);
      console.log(`| ${b.name} | ${direct.p50} | ${direct.p99} | ${via.p50} | ${via.p99} | +${via.p50 - direct.p50} ms | +${via.p99 - direct.p99} ms | ${via.cpu ? via.cpu.requestThread.toFixed(2) : ''} | ${via.cpu ? via.cpu.process.toFixed(2) : ''} |`);
    }
  } finally {
    // The proxy first, so it does not log the upstream going away while it drains.
    tg.child.kill('SIGTERM');
    await new Promise((r) => tg.child.once('exit', r));
    up.child.kill('SIGTERM');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'upstream') upstream();
else void main();
