import type { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import type { FileResult, ScanItem } from './file-scan';
import { scanItem } from './file-scan';
import type { ScanBatch, WorkerReply } from './worker';
import { scanWorkerMarker } from './worker';
import { ScanError } from './errors';
import { spawnThread } from '../workers/thread';

export interface PoolOptions {
  readonly maxBytes: number;
  /** Worker threads to use; 0 scans on this thread. Defaults to one per core. */
  readonly workers?: number;
  /** Scans no more than this many files run on this thread, where starting workers costs more. */
  readonly inlineUpTo?: number;
}

const batchFiles = 64;
const batchBytes = 1 << 20;
const batchesInFlightPerWorker = 2;

/**
 * Starts a scan worker. Bundled (dist/cli.js), the worker runs the bundle itself as
 * `tollgate scan`, which notices it is a worker; from sources it loads worker.ts through tsx.
 */
function startWorker(): Worker {
  return spawnThread(scanWorkerMarker, path.join(__dirname, 'worker.ts'), {}, { argv: ['scan'] });
}

class WorkerSlot {
  inFlight = 0;
  constructor(readonly worker: Worker) {}
}

/**
 * Scans a stream of items on every core, handing each file's result to `onResult` as it comes.
 * The stream is pulled only while a worker has room, so memory stays bounded however many files.
 */
export async function scanItems(items: AsyncIterable<ScanItem>, options: PoolOptions, onResult: (result: FileResult) => void): Promise<void> {
  const iterator = items[Symbol.asyncIterator]();
  const head: ScanItem[] = [];
  const inlineUpTo = options.inlineUpTo ?? 200;
  const workerCount = options.workers ?? availableParallelism();
  for (;;) {
    if (workerCount > 0 && head.length >= inlineUpTo) break;
    const next = await iterator.next();
    if (next.done) {
      for (const item of head) onResult(scanItem(item, options.maxBytes));
      return;
    }
    if (workerCount === 0) onResult(scanItem(next.value, options.maxBytes));
    else head.push(next.value);
  }

  const slots = Array.from({ length: workerCount }, () => new WorkerSlot(startWorker()));
  const pending = new Map<number, WorkerSlot>();
  let failure: ScanError | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  for (const slot of slots) {
    slot.worker.on('message', (reply: WorkerReply) => {
      pending.delete(reply.id);
      slot.inFlight--;
      if ('error' in reply) failure ??= new ScanError('worker-failed', `scan worker failed: ${reply.error}`);
      else for (const r of reply.results) onResult(r);
      notify();
    });
    slot.worker.on('error', (err) => {
      failure ??= new ScanError('worker-failed', `scan worker failed: ${err.message}`);
      notify();
    });
    slot.worker.on('exit', (code) => {
      if (code !== 0) failure ??= new ScanError('worker-failed', `scan worker exited with code ${code}`);
      notify();
    });
  }
  const waitForChange = (): Promise<void> => new Promise((resolve) => (wake = resolve));

  let nextId = 1;
  const dispatch = async (batch: ScanItem[]): Promise<void> => {
    for (;;) {
      if (failure) throw failure;
      const free = slots.reduce<WorkerSlot | undefined>((best, s) => (s.inFlight < batchesInFlightPerWorker && (!best || s.inFlight < best.inFlight) ? s : best), undefined);
      if (free) {
        const message: ScanBatch = { id: nextId++, items: batch, maxBytes: options.maxBytes };
        const transfer = batch.flatMap((i) => (i.bytes ? [i.bytes.buffer as ArrayBuffer] : []));
        free.inFlight++;
        pending.set(message.id, free);
        free.worker.postMessage(message, transfer);
        return;
      }
      await waitForChange();
    }
  };

  try {
    let batch: ScanItem[] = [];
    let bytes = 0;
    const add = async (item: ScanItem): Promise<void> => {
      batch.push(item);
      bytes += item.bytes?.length ?? item.size ?? 0;
      if (batch.length >= batchFiles || bytes >= batchBytes) {
        const full = batch;
        batch = [];
        bytes = 0;
        await dispatch(full);
      }
    };
    for (const item of head) await add(item);
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) await add(next.value);
    if (batch.length > 0) await dispatch(batch);
    while (pending.size > 0) {
      if (failure) throw failure;
      await waitForChange();
    }
    if (failure) throw failure;
  } finally {
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}
