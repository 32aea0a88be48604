// Portkey's open-source gateway, from npm, as the proxy bench's third proxy: installed once into
// bench/.out/portkey (skipped when present), started on a free loopback port, and sent OpenAI-style
// calls for the bench's mock upstream through its custom-host header.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';

export const PORTKEY_VERSION = '1.15.2';

export interface Portkey {
  readonly child: ChildProcess;
  readonly url: string;
  /** Where its output goes, for the reason of a failure. */
  readonly logFile: string;
}

/** The gateway's entry point, installed into `outDir`/portkey on first use. */
export function installPortkey(outDir: string): string {
  const prefix = path.join(outDir, 'portkey');
  const entry = path.join(prefix, 'node_modules', '@portkey-ai', 'gateway', 'build', 'start-server.js');
  const pkg = path.join(prefix, 'node_modules', '@portkey-ai', 'gateway', 'package.json');
  if (fs.existsSync(entry) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version?: string }).version === PORTKEY_VERSION) return entry;
  fs.mkdirSync(prefix, { recursive: true });
  process.stderr.write(`installing @portkey-ai/gateway@${PORTKEY_VERSION} into ${prefix}\n`);
  execFileSync('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', `@portkey-ai/gateway@${PORTKEY_VERSION}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  return entry;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function get(url: string): Promise<number> {
  return new Promise((resolve) => {
    http.get(url, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', () => resolve(0));
  });
}

/** Starts the gateway with `nodeArgs` before its entry point; resolves once it answers on its root. */
export async function startPortkey(entry: string, nodeArgs: string[], env: NodeJS.ProcessEnv, logFile: string): Promise<Portkey> {
  const port = await freePort();
  const log = fs.openSync(logFile, 'w');
  const child = spawn(process.execPath, [...nodeArgs, entry, `--port=${port}`, '--headless'], { stdio: ['ignore', log, log], env: { ...process.env, ...env }, cwd: path.dirname(entry) });
  fs.closeSync(log);
  const url = `http://127.0.0.1:${port}`;
  let exited: number | null | undefined;
  child.once('exit', (code) => { exited = code; });
  for (let i = 0; i < 150; i++) {
    if (exited !== undefined) throw new Error(`portkey exited ${exited}; see ${logFile}`);
    if ((await get(`${url}/`)) === 200) return { child, url, logFile };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGTERM');
  throw new Error(`portkey did not answer on ${url} within 15 s; see ${logFile}`);
}

/** The headers that send an OpenAI-style call through the gateway to `upstream` (its /v1 base). */
export function portkeyHeaders(upstream: string): Record<string, string> {
  return { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${upstream}/v1`, authorization: 'Bearer bench-upstream-key' };
}
