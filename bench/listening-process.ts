import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

/** A server process a bench started, once it has printed the address it listens on. */
export interface ListeningProcess {
  readonly child: ChildProcess;
  readonly url: string;
}

/**
 * Starts `node ...args` and resolves once it prints `listening on <url>` (as `tollgate serve` and
 * the bench's helper servers do); rejects if it exits first. `started`, when given, collects the
 * child so the bench can stop every process it started.
 */
export function startListening(args: string[], env: NodeJS.ProcessEnv = {}, started?: ChildProcess[]): Promise<ListeningProcess> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, ...env } });
  started?.push(child);
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
