// Runs `tollgate serve` as a child process, outside the extension host's event loop, on VS Code's
// own Node (the Electron binary with ELECTRON_RUN_AS_NODE=1). Restarts it with backoff when it
// dies, keeps the port it first got so terminals' environment stays valid, and stops it with the
// window. The child says it listens, and sends its log records, over its IPC channel
// (src/proxy/child-channel.ts); its stdout and stderr are only passed on to the log. No vscode
// import: plain mocha drives it with a fake server script.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ProxyStatus } from '../../protocol';
import { isChildMessage } from '../../proxy/child-channel';
import type { LogLevel } from '../../proxy/log';
import { RestartBackoff } from './backoff';

export interface ProxyLaunch {
  /** The Node to run: `process.execPath` in the extension host. */
  readonly execPath: string;
  readonly cliPath: string;
  readonly policyFile: string;
  readonly dataDir: string;
  /** 0: let the OS choose (first start only; restarts reuse the port it chose). */
  readonly port: number;
  readonly upstreams: Readonly<Record<string, string>>;
  /** The child's whole environment, upstream keys included. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** False: the proxy starts none of the bundle's local MCP servers (an untrusted workspace). */
  readonly mcpStdio?: boolean;
}

export interface SupervisorHooks {
  status(status: ProxyStatus): void;
  listening(url: string): void;
  /** A log record of the proxy, or a line it printed (stdout as info, stderr as a warning). */
  log(level: LogLevel, line: string): void;
}

export class ProxyStartError extends Error {
  constructor(
    readonly reason: 'timeout' | 'exited' | 'spawn-failed' | 'stopped',
    message: string,
  ) {
    super(message);
    this.name = 'ProxyStartError';
  }
  static is(err: unknown, reason?: ProxyStartError['reason']): err is ProxyStartError {
    return err instanceof ProxyStartError && (reason === undefined || err.reason === reason);
  }
}

// Preloaded into the child: when the editor's process disappears without stopping us (a crash,
// a killed window) the proxy terminates itself instead of lingering with the port.
const parentWatchSource = `'use strict';
const parent = Number(process.env.TOLLGATE_PARENT_PID);
if (parent > 0) {
  const timer = setInterval(() => {
    try { process.kill(parent, 0); } catch { clearInterval(timer); process.kill(process.pid, 'SIGTERM'); }
  }, 2000);
  timer.unref();
}
`;

export function serveArguments(launch: ProxyLaunch, port: number): string[] {
  const args = [launch.cliPath, 'serve', '--host', '127.0.0.1', '--port', String(port), '--policy', launch.policyFile, '--data-dir', launch.dataDir];
  for (const [name, url] of Object.entries(launch.upstreams)) args.push('--upstream', `${name}=${url}`);
  if (launch.mcpStdio === false) args.push('--mcp-stdio', 'refuse');
  return args;
}

export class ProxySupervisor {
  private child: ChildProcess | undefined;
  private current: ProxyStatus = { phase: 'stopped', restarts: 0 };
  private restarts = 0;
  private keptPort: number | undefined;
  private proxyUrl: string | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private wanted = false;
  private disposed = false;
  private readonly backoff: RestartBackoff;

  constructor(
    private readonly launch: () => Promise<ProxyLaunch>,
    private readonly hooks: SupervisorHooks,
    options: { backoff?: RestartBackoff; startTimeoutMs?: number; stopTimeoutMs?: number } = {},
  ) {
    this.backoff = options.backoff ?? new RestartBackoff();
    this.startTimeoutMs = options.startTimeoutMs ?? 20_000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 4_000;
  }
  private readonly startTimeoutMs: number;
  private readonly stopTimeoutMs: number;

  get url(): string | undefined {
    return this.proxyUrl;
  }

  get status(): ProxyStatus {
    return this.current;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the proxy (no-op when running) and resolves with its URL once it accepts connections. */
  async start(): Promise<string> {
    if (this.disposed) throw new ProxyStartError('stopped', 'the supervisor was disposed');
    this.wanted = true;
    if (this.child && this.proxyUrl) return this.proxyUrl;
    this.clearRestartTimer();
    return this.spawnOnce();
  }

  /** Stops and starts again, keeping the port; the backoff starts afresh. */
  async restart(): Promise<string> {
    await this.stop();
    this.backoff.reset();
    return this.start();
  }

  /** SIGTERM, then SIGKILL if it has not exited within the stop timeout. */
  async stop(): Promise<void> {
    this.wanted = false;
    this.clearRestartTimer();
    const child = this.child;
    this.child = undefined;
    this.proxyUrl = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const killTimer = setTimeout(() => child.kill('SIGKILL'), this.stopTimeoutMs);
        child.once('exit', () => {
          clearTimeout(killTimer);
          resolve();
        });
        child.kill('SIGTERM');
      });
    }
    this.setStatus({ phase: 'stopped', restarts: this.restarts });
  }

  /** Synchronous and safe to call twice: the window is closing, so only signal the child. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.wanted = false;
    this.clearRestartTimer();
    if (this.child && this.child.exitCode === null) this.child.kill('SIGTERM');
    this.child = undefined;
  }

  private clearRestartTimer(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }

  private setStatus(status: ProxyStatus): void {
    this.current = status;
    this.hooks.status(status);
  }

  private async spawnOnce(): Promise<string> {
    const launch = await this.launch();
    const port = this.keptPort ?? launch.port;
    const watch = path.join(launch.dataDir, 'parent-watch.cjs');
    fs.mkdirSync(launch.dataDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(watch, parentWatchSource);
    this.setStatus({ phase: this.restarts > 0 ? 'restarting' : 'starting', restarts: this.restarts });
    const startedAt = Date.now();
    let child: ChildProcess;
    try {
      child = spawn(launch.execPath, ['--require', watch, ...serveArguments(launch, port)], {
        env: { ...launch.env, ELECTRON_RUN_AS_NODE: '1', TOLLGATE_PARENT_PID: String(process.pid) },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        windowsHide: true,
      });
    } catch (err) {
      const e = new ProxyStartError('spawn-failed', `could not start the proxy: ${(err as Error).message}`);
      this.setStatus({ phase: 'failed', detail: e.message, restarts: this.restarts });
      throw e;
    }
    this.child = child;

    return new Promise<string>((resolve, reject) => {
      let settled = false;
      let recentErr = '';
      const finish = (err: ProxyStartError | undefined, url?: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(url!);
      };
      const timer = setTimeout(() => {
        finish(new ProxyStartError('timeout', `the proxy did not report listening within ${this.startTimeoutMs} ms`));
        child.kill('SIGKILL');
      }, this.startTimeoutMs);

      const lines = (level: LogLevel) => {
        let buffered = '';
        return (chunk: Buffer): void => {
          buffered += chunk.toString('utf8');
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl).replace(/\r$/, '');
            buffered = buffered.slice(nl + 1);
            if (level !== 'info') recentErr = line || recentErr;
            this.hooks.log(level, line);
          }
        };
      };
      child.stdout?.on('data', lines('info'));
      child.stderr?.on('data', lines('warn'));
      child.on('message', (message: unknown) => {
        if (!isChildMessage(message)) return;
        if (message.type === 'log') {
          if (message.level === 'error' || message.level === 'warn') recentErr = message.message;
          this.hooks.log(message.level, message.message);
          return;
        }
        if (child !== this.child) return;
        const url = message.url;
        this.proxyUrl = url;
        this.keptPort = Number(new URL(url).port) || this.keptPort;
        this.setStatus({ phase: 'running', restarts: this.restarts });
        this.hooks.listening(url);
        finish(undefined, url);
      });
      child.on('error', (err) => {
        finish(new ProxyStartError('spawn-failed', `could not start the proxy: ${err.message}`));
      });
      child.on('exit', (code, signal) => {
        const wasListening = settled;
        finish(new ProxyStartError('exited', `the proxy exited (${signal ?? `code ${code}`}) before listening${recentErr ? `: ${recentErr}` : ''}`));
        if (child !== this.child) return; // stopped or replaced on purpose
        this.child = undefined;
        this.proxyUrl = undefined;
        // A port someone else took is not worth keeping; the next start lets the OS choose.
        if (!wasListening) this.keptPort = undefined;
        if (!this.wanted || this.disposed) return;
        const delay = this.backoff.next(Date.now() - startedAt);
        const why = `exited (${signal ?? `code ${code}`})${recentErr ? `: ${recentErr}` : ''}`;
        if (delay === undefined) {
          this.setStatus({ phase: 'failed', detail: `${why}; gave up after ${this.backoff.consecutiveFailures - 1} restarts`, restarts: this.restarts });
          return;
        }
        this.restarts++;
        this.setStatus({ phase: 'restarting', detail: `${why}; restarting in ${Math.round(delay / 100) / 10} s`, restarts: this.restarts });
        this.restartTimer = setTimeout(() => {
          this.restartTimer = undefined;
          if (!this.wanted || this.disposed) return;
          this.spawnOnce().catch((err: unknown) => this.hooks.log('error', `restart failed: ${(err as Error).message}`));
        }, delay);
      });
    });
  }
}
