import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { LedgerError } from './errors';
import type { LedgerIo } from './io';
import type { CoreAnswer, CoreCall, CoreEvents, CoreOptions, OpenedChain, SealRequest } from './core';
import { LedgerCore } from './core';
import type { FromLedgerWorker, LedgerWorkerData, ToLedgerWorker } from './worker';
import { fromWire } from './errors';
import { ledgerWorkerMarker } from './worker-role';

/*
 * Where the ledger's core runs: on the caller's thread (the command line, tests with an injected
 * write layer) or on a worker thread (the proxy). The Ledger talks to both the same way.
 */

export interface LedgerBackend {
  seal(request: SealRequest): void;
  call<C extends CoreCall>(c: C): Promise<CoreAnswer[C['op']]>;
  /** Ends the worker thread, if there is one; after the `close` call. */
  dispose(): Promise<void>;
  /** Why the core's thread is gone, or null while it runs. */
  readonly lost: string | null;
}

export interface BackendEvents extends CoreEvents {
  /** The core is gone (its thread died): nothing more can be written. */
  stopped(reason: string): void;
}

export interface StartedBackend {
  backend: LedgerBackend;
  opened: OpenedChain;
}

/** Runs the core on this thread. */
export async function startLocalBackend(dataDir: string, options: CoreOptions, io: LedgerIo, events: BackendEvents): Promise<StartedBackend> {
  const { core, opened } = await LedgerCore.open(dataDir, options, io, events);
  const backend: LedgerBackend = {
    seal: (request) => core.seal([request]),
    call: (c) => core.call(c),
    dispose: () => Promise.resolve(),
    lost: null,
  };
  return { backend, opened };
}

/**
 * Bundled (dist/cli.js), the worker runs the bundle itself, which notices it is the ledger's
 * worker; from sources it loads worker.ts through tsx.
 */
export function spawnLedgerWorker(data: Omit<LedgerWorkerData, 'role' | 'entry'>): Worker {
  if (__filename.endsWith('.ts')) {
    const entry = path.join(__dirname, 'worker.ts');
    return new Worker(`require('tsx/cjs'); require(${JSON.stringify(entry)});`, {
      eval: true,
      workerData: { role: ledgerWorkerMarker, entry: 'source', ...data } satisfies LedgerWorkerData,
    });
  }
  return new Worker(__filename, { workerData: { role: ledgerWorkerMarker, entry: 'bundle', ...data } satisfies LedgerWorkerData });
}

/** Runs the core on a worker thread (started by `spawn`); resolves once it has opened the journal. */
export function startWorkerBackend(dataDir: string, options: CoreOptions, events: BackendEvents, spawn = spawnLedgerWorker): Promise<StartedBackend> {
  const worker = spawn({ dataDir, options });
  return new Promise((resolve, reject) => {
    let backend: WorkerBackend | null = null;
    worker.on('message', (m: FromLedgerWorker) => {
      if (backend) {
        backend.receive(m);
      } else if (m.type === 'ready') {
        backend = new WorkerBackend(worker, events);
        resolve({ backend, opened: m.opened });
      } else if (m.type === 'open-failed') {
        reject(fromWire(m.error));
      }
    });
    worker.on('error', (err) => {
      if (backend) backend.stop(`the ledger's writer thread failed: ${err.message}`);
      else reject(new LedgerError('unavailable', `the ledger's writer thread failed to start: ${err.message}`));
    });
    worker.on('exit', (code) => {
      if (backend) backend.stop(`the ledger's writer thread exited (code ${code})`);
      else reject(new LedgerError('unavailable', `the ledger's writer thread exited (code ${code}) before opening the journal`));
    });
  });
}

class WorkerBackend implements LedgerBackend {
  private outbox: SealRequest[] = [];
  private flushScheduled = false;
  private calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextCall = 0;
  private stoppedReason: string | null = null;
  private disposing = false;

  constructor(
    private readonly worker: Worker,
    private readonly events: BackendEvents,
  ) {}

  get lost(): string | null {
    return this.stoppedReason;
  }

  /** Records appended in one turn of the event loop cross to the worker in one message. */
  seal(request: SealRequest): void {
    this.outbox.push(request);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const requests = this.outbox;
    this.outbox = [];
    if (requests.length === 0) return;
    if (this.stoppedReason !== null) {
      this.events.rejected(requests.map((r) => r.ticket), new LedgerError('unavailable', this.stoppedReason));
      return;
    }
    this.post({ type: 'seal', requests });
  }

  call<C extends CoreCall>(c: C): Promise<CoreAnswer[C['op']]> {
    this.flush(); // a call sees every record appended before it
    if (this.stoppedReason !== null) return Promise.reject(new LedgerError('unavailable', this.stoppedReason));
    const n = ++this.nextCall;
    return new Promise((resolve, reject) => {
      this.calls.set(n, { resolve: resolve as (v: unknown) => void, reject });
      this.post({ type: 'call', n, call: c });
    });
  }

  private post(m: ToLedgerWorker): void {
    this.worker.postMessage(m);
  }

  receive(m: FromLedgerWorker): void {
    switch (m.type) {
      case 'acked':
        this.events.acked(m.tickets, m.sealed, m.head, m.stats);
        return;
      case 'rejected':
        this.events.rejected(m.tickets, new LedgerError(m.error.reason ?? 'unavailable', m.error.message));
        return;
      case 'health':
        this.events.health(m.reason);
        return;
      case 'answer': {
        const waiting = this.calls.get(m.n);
        this.calls.delete(m.n);
        if (!waiting) return;
        if ('error' in m) waiting.reject(fromWire(m.error));
        else waiting.resolve(m.value);
        return;
      }
      default:
        return;
    }
  }

  /** The thread is gone: fail what waits on it and tell the ledger, unless it was asked to go. */
  stop(reason: string): void {
    if (this.stoppedReason !== null) return;
    this.stoppedReason = reason;
    const error = new LedgerError('unavailable', reason);
    for (const c of this.calls.values()) c.reject(error);
    this.calls.clear();
    if (!this.disposing) this.events.stopped(reason);
  }

  async dispose(): Promise<void> {
    this.disposing = true;
    await this.worker.terminate();
  }
}
