import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureServerBinary } from './server-binary';

// A throwaway redis-server for tests: loopback only, no persistence, in a temp dir, stopped by
// the test. The binary comes from scripts/ensure-redis.sh, which installs Debian's package when
// it is missing, so a clean CI machine runs these tests instead of skipping them.

/** The redis-server path; installs it once per test run if needed. Rejects with the reason when it cannot. */
export function ensureRedisBinary(): Promise<string> {
  return ensureServerBinary('ensure-redis.sh', 'redis-server for the team-mode tests');
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolveOk) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let data = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolveOk(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'));
    socket.on('data', (chunk) => {
      data += chunk.toString();
      // A password-protected server answers -NOAUTH: it is up all the same.
      if (data.includes('\r\n')) done(data.startsWith('+PONG') || data.startsWith('-NOAUTH'));
    });
  });
}

export interface TestRedis {
  readonly port: number;
  readonly url: string;
  /** Stops the server (SIGTERM, then SIGKILL); its data is gone, as after a crash without persistence. */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  /** Stops it for good and removes its directory. */
  dispose(): Promise<void>;
}

/** Starts redis-server on a free loopback port; resolves once it answers PING. */
export async function startRedis(extraArgs: readonly string[] = []): Promise<TestRedis> {
  const bin = await ensureRedisBinary();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-redis-'));
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--logfile', join(dir, 'redis.log'), ...extraArgs];
    const proc = spawn(bin, args, { stdio: 'ignore' });
    child = proc;
    let exited = false;
    proc.once('exit', () => {
      exited = true;
    });
    for (let i = 0; i < 200; i++) {
      if (await ping(port)) return;
      if (exited) throw new Error(`redis-server exited at start (see ${join(dir, 'redis.log')})`);
      await new Promise((r) => setTimeout(r, 25));
    }
    proc.kill('SIGKILL');
    throw new Error(`redis-server did not answer on 127.0.0.1:${port} within 5 s`);
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolveStop) => {
      const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
      proc.once('exit', () => {
        clearTimeout(timer);
        resolveStop();
      });
      proc.kill('SIGTERM');
    });
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
