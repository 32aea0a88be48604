import { isMainThread, Worker, workerData } from 'node:worker_threads';

// How every thread of the product starts. Bundled (dist/cli.js), a thread runs the bundle itself,
// whose entry point tells by the role in its workerData which thread it is; from the TypeScript
// sources (tests, tsx) it loads the thread's own module through tsx, which serves on load.

export type ThreadEntry = 'source' | 'bundle';

export interface ThreadData {
  readonly role: string;
  readonly entry: ThreadEntry;
}

/** Starts the thread of `role`; `sourceModule` is its module's path, `data` goes along in its workerData. */
export function spawnThread(role: string, sourceModule: string, data: object = {}, options: { argv?: string[] } = {}): Worker {
  if (__filename.endsWith('.ts')) {
    return new Worker(`require('tsx/cjs'); require(${JSON.stringify(sourceModule)});`, { eval: true, workerData: { ...data, role, entry: 'source' } satisfies ThreadData });
  }
  return new Worker(__filename, { argv: options.argv, workerData: { ...data, role, entry: 'bundle' } satisfies ThreadData });
}

/** True inside a thread started for `role`. */
export function isThreadOf(role: string): boolean {
  return !isMainThread && (workerData as { role?: unknown } | null)?.role === role;
}

/** True inside a thread started for `role` from the sources: its module must serve as it loads. */
export function startedFromSource(role: string): boolean {
  return isThreadOf(role) && (workerData as ThreadData).entry === 'source';
}

interface Waiting {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/**
 * Requests to a thread, by number, each answered once. When the thread is lost, every request
 * still waiting fails with why.
 */
export class PendingReplies {
  private readonly waiting = new Map<number, Waiting>();
  private next = 1;

  /** Numbers a request, hands it to `send`, and resolves with its answer; fails if `send` throws. */
  request(send: (n: number) => void): Promise<unknown> {
    const n = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(n, { resolve, reject });
      try {
        send(n);
      } catch (err) {
        this.waiting.delete(n);
        reject(err);
      }
    });
  }

  /** Settles request `n`; an answer to a request that no longer waits is dropped. */
  answer(n: number, outcome: { value: unknown } | { error: Error }): void {
    const w = this.waiting.get(n);
    if (!w) return;
    this.waiting.delete(n);
    if ('error' in outcome) w.reject(outcome.error);
    else w.resolve(outcome.value);
  }

  /** Fails every request still waiting. */
  failAll(err: Error): void {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.reject(err);
  }
}
