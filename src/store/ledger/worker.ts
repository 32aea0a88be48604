import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { toWire } from './errors';
import type { WireError } from './errors';
import type { JournalStats } from './journal';
import { nodeIo } from './io';
import type { CoreCall, CoreOptions, OpenedChain, SealRequest, Sealed } from './core';
import { LedgerCore } from './core';
import { ledgerWorkerMarker } from './worker-role';
import { startedFromSource } from '../../workers/thread';

/*
 * The ledger's worker thread: runs LedgerCore for the proxy so sealing, writing and indexing stay
 * off the request thread. The messages below are the whole interface; the thread ends when its
 * port closes (the proxy closed the ledger or exited).
 */

export interface LedgerWorkerData {
  role: typeof ledgerWorkerMarker;
  /** 'source': loaded through tsx (tests); 'bundle': the CLI bundle started as a worker. */
  entry: 'source' | 'bundle';
  dataDir: string;
  options: CoreOptions;
}

export type ToLedgerWorker =
  | { type: 'seal'; requests: SealRequest[] }
  | { type: 'call'; n: number; call: CoreCall };

export type FromLedgerWorker =
  | { type: 'ready'; opened: OpenedChain }
  | { type: 'open-failed'; error: WireError }
  | { type: 'acked'; tickets: number[]; sealed: Sealed[]; head: Sealed; stats: JournalStats }
  | { type: 'rejected'; tickets: number[]; error: WireError }
  | { type: 'health'; reason: string | null }
  | { type: 'answer'; n: number; value: unknown }
  | { type: 'answer'; n: number; error: WireError };

/** Opens the ledger core and serves the proxy's messages until the port closes. */
export async function serveLedgerThread(): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const data = workerData as LedgerWorkerData;
  const send = (m: FromLedgerWorker): void => port.postMessage(m);
  let core: LedgerCore;
  try {
    const started = await LedgerCore.open(data.dataDir, data.options, nodeIo, {
      acked: (tickets, sealed, head, stats) => send({ type: 'acked', tickets, sealed, head, stats }),
      rejected: (tickets, error) => send({ type: 'rejected', tickets, error: toWire(error) }),
      health: (reason) => send({ type: 'health', reason }),
    });
    core = started.core;
    send({ type: 'ready', opened: started.opened });
  } catch (err) {
    send({ type: 'open-failed', error: toWire(err) });
    port.close();
    return;
  }
  listen(port, core, send);
}

function listen(port: MessagePort, core: LedgerCore, send: (m: FromLedgerWorker) => void): void {
  port.on('message', (m: ToLedgerWorker) => {
    if (m.type === 'seal') {
      core.seal(m.requests);
      return;
    }
    core.call(m.call).then(
      (value) => send({ type: 'answer', n: m.n, value }),
      (err: unknown) => send({ type: 'answer', n: m.n, error: toWire(err) }),
    );
  });
}

// Loaded directly as a worker script when running from TypeScript sources (tests, tsx).
if (startedFromSource(ledgerWorkerMarker)) void serveLedgerThread();
