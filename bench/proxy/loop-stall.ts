// The longest the proxy's event loop stops while it takes one large body: the proxy runs in this
// process, so its event loop's delay is measured directly (perf_hooks), against the same figure
// during small calls in the same run. Run from the repository root:
//   node bench/run.js bench/proxy/loop-stall.ts
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { mintSessionToken } from '../../src/engine/identity/tokens';
import { loadPolicy } from '../../src/engine/policy/loader';
import { launchProxy } from '../../src/proxy/launch';
import { Logger } from '../../src/proxy/log';
import { loadSessionKeys } from '../../src/store/session-key';
import { base64Blob, run } from '../../test/helpers/texts';

const message = (texts: string[]): string => JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user', content: texts.map((text) => ({ type: 'text', text })) }] });

function post(url: string, token: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function main(): Promise<void> {
  const upstream = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const reply = JSON.stringify({ id: 'm', type: 'message', role: 'assistant', content: [{ type: 'text', text: 'ok' }], usage: { input_tokens: 10, output_tokens: 2 } });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply) });
      res.end(reply);
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-bench-stall-'));
  const text = fs.readFileSync(path.join('policies', 'reference.yaml'), 'utf8').replace('max_input_tokens: 32000', 'max_input_tokens: 100000000').replace('limit: 200000', 'limit: 1000000000');
  const loaded = loadPolicy(text);
  if (!loaded.ok) throw new Error('policy');
  const policyPath = path.join(dataDir, 'tollgate.yaml');
  fs.writeFileSync(policyPath, text);
  const proxy = await launchProxy({
    dataDir, policyPath, policyText: text, policy: loaded.policy, host: '127.0.0.1', port: 0, upstreamOverrides: new Map([['anthropic', `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`]]),
    shadow: false, maxBodyBytes: 12 * 1024 * 1024, bodyTimeoutMs: 60_000, upstreamHeaderTimeoutMs: 60_000, upstreamIdleTimeoutMs: 60_000,
    env: { ANTHROPIC_API_KEY: 'bench-key' }, log: new Logger(new PassThrough(), 'error'),
  });
  const token = await mintSessionToken(loadSessionKeys(dataDir), { user: 'bob@acme.dev', agent: 'batch-eval', ttlMs: 3_600_000, now: Date.now() });
  const url = `${proxy.server.url}/anthropic/v1/messages`;
  await post(url, token, message([run('x', 100_000)])); // starts the describe thread

  const measure = async (name: string, bodies: string[]): Promise<void> => {
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const started = Date.now();
    for (const b of bodies) await post(url, token, b);
    h.disable();
    console.log(`| ${name} | ${bodies.length} | ${Date.now() - started} | ${(h.percentile(99) / 1e6).toFixed(1)} | ${(h.max / 1e6).toFixed(1)} |`);
  };
  console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}\n`);
  console.log('| bodies | calls | ms | loop delay p99, ms | loop delay max, ms |\n|---|---|---|---|---|');
  await measure('1 KB chats (baseline)', Array.from({ length: 200 }, (_, i) => message([`hello ${i} `.repeat(80)])));
  await measure('one 10 MB word', [0, 1, 2].map((k) => message([run('x', 9_999_000 + k)])));
  await measure('10 MB of base64 in ten texts', [0].map((k) => message(Array.from({ length: 10 }, (_, i) => base64Blob(999_000 + k, 10 * k + i + 1)))));
  await measure('9 MB of 1 MB runs', [0, 1].map((k) => message(['é', 'a.', ' ', '-', ' 1', '123-45-678 ', 'a@b.', '+1 415 555 267', 'A'].map((u) => run(u, (u === 'é' ? 500_000 : 1_000_000) + k)))));
  await proxy.stop();
  upstream.close();
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
