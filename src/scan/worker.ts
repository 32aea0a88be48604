import { parentPort } from 'node:worker_threads';
import { isThreadOf, startedFromSource } from '../workers/thread';
import type { FileResult, ScanItem } from './file-scan';
import { scanItem } from './file-scan';

export const scanWorkerMarker = 'tollgate-scan-worker';

export interface ScanBatch {
  readonly id: number;
  readonly items: readonly ScanItem[];
  readonly maxBytes: number;
}

export type WorkerReply =
  | { readonly id: number; readonly results: readonly FileResult[] }
  | { readonly id: number; readonly error: string };

/** True inside a thread the scan pool started. */
export function isScanWorkerThread(): boolean {
  return isThreadOf(scanWorkerMarker);
}

/** Serves scan batches until the pool closes the port; resolves then. */
export function serveScanBatches(): Promise<number> {
  const port = parentPort;
  if (!port) return Promise.resolve(2);
  return new Promise((resolve) => {
    port.on('message', (batch: ScanBatch) => {
      try {
        const results = batch.items.map((item) => scanItem(item, batch.maxBytes));
        port.postMessage({ id: batch.id, results } satisfies WorkerReply);
      } catch (err) {
        port.postMessage({ id: batch.id, error: err instanceof Error ? err.message : String(err) } satisfies WorkerReply);
      }
    });
    port.on('close', () => resolve(0));
  });
}

// Loaded directly as a worker script when running from TypeScript sources (tests, tsx).
if (startedFromSource(scanWorkerMarker)) void serveScanBatches();
