import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { PendingReplies, spawnThread } from '../../workers/thread';
import { LedgerError } from './errors';
import type { LedgerIo } from './io';
import type { CoreAnswer, CoreCall, CoreEvents, CoreOptions, OpenedChain, SealRequest } from './core';
import { LedgerCore } from './core';
import type { FromLedgerWorker, LedgerWorkerData, ToLedgerWorker } from './worker';
import { fromWire } from './errors';
import { LAZY_COMMIT_MS } from './journal';
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
  return spawnThread(ledgerWorkerMarker, path.join(__dirname, 'worker.ts'), data);
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
  /** Lazy records wait on this side until a record that cannot wait comes, or their time is up. */
  private lazyHold: NodeJS.Timeout | null = null;
  private readonly calls = new PendingReplies();
  private stoppedReason: string | null = null;
  private disposing = false;

  constructor(
    private readonly worker: Worker,
    private readonly events: BackendEvents,
  ) {}

  get lost(): string | null {
    return this.stoppedReason;
  }

  /**
   * Records appended in one turn of the event loop cross to the worker in one message. A lazy
   * record (a settle) crosses with the next record that cannot wait, or alone after
   * LAZY_COMMIT_MS: one call at a time (a coding agent) then wakes the worker once per call, not
   * twice. The settle's wait is the journal's own (journal.ts), only spent on this side.
   */
  seal(request: SealRequest): void {
    this.outbox.push(request);
    if (this.flushScheduled) return;
    if (request.lazy === true) {
      this.lazyHold ??= setTimeout(() => this.flush(true), LAZY_COMMIT_MS);
      return;
    }
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** `waited`: the lazy records' wait is over, so the worker commits them at once. */
  private flush(waited = false): void {
    this.flushScheduled = false;
    if (this.lazyHold) clearTimeout(this.lazyHold);
    this.lazyHold = null;
    let requests = this.outbox;
    this.outbox = [];
    if (requests.length === 0) return;
    if (this.stoppedReason !== null) {
      this.events.rejected(requests.map((r) => r.ticket), new LedgerError('unavailable', this.stoppedReason));
      return;
    }
    if (waited) requests = requests.map(({ lazy: _lazy, ...now }) => now);
    this.post({ type: 'seal', requests });
  }

  call<C extends CoreCall>(c: C): Promise<CoreAnswer[C['op']]> {
    this.flush(); // a call sees every record appended before it
    if (this.stoppedReason !== null) return Promise.reject(new LedgerError('unavailable', this.stoppedReason));
    return this.calls.request((n) => this.post({ type: 'call', n, call: c })) as Promise<CoreAnswer[C['op']]>;
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
      case 'answer':
        this.calls.answer(m.n, 'error' in m ? { error: fromWire(m.error) } : { value: m.value });
        return;
      default:
        return;
    }
  }

  /** The thread is gone: fail what waits on it and tell the ledger, unless it was asked to go. */
  stop(reason: string): void {
    if (this.stoppedReason !== null) return;
    this.stoppedReason = reason;
    this.calls.failAll(new LedgerError('unavailable', reason));
    if (!this.disposing) this.events.stopped(reason);
  }

  async dispose(): Promise<void> {
    this.disposing = true;
    await this.worker.terminate();
  }
}
