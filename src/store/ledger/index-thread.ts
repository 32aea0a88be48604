import { parentPort, workerData } from 'node:worker_threads';
import type { Worker } from 'node:worker_threads';
import { PendingReplies, spawnThread, startedFromSource } from '../../workers/thread';
import { fromWire, LedgerError, toWire } from './errors';
import type { WireError } from './errors';
import type { IndexCoverage, IndexRow } from './index-db';
import type { IndexAnswer, IndexQuery, IndexSource, QueryIndex } from './index-service';
import { IndexService } from './index-service';
import type { ChainPoint } from './journal';
import { ledgerIndexMarker } from './worker-role';

/*
 * The query index on a thread of its own, started by the ledger's worker. Rows cross as plain
 * values every indexEveryMs; a snapshot of the database, or a question read from the journal
 * (index-service.ts), then stalls only questions, never the group commits that decisions wait on. If the thread is lost, questions waiting on it fail, and the next row or
 * question starts a new one that replays the journal up to the acknowledged tip.
 */

export interface IndexThreadData extends IndexSource {
  role: typeof ledgerIndexMarker;
  entry: 'source' | 'bundle';
}

type ToIndexThread =
  | { type: 'add'; rows: IndexRow[]; at: IndexCoverage }
  | { type: 'ask'; n: number; query: IndexQuery }
  | { type: 'close'; n: number };
type FromIndexThread = { type: 'answer'; n: number; value: unknown } | { type: 'answer'; n: number; error: WireError };

export type IndexThreadSpawner = (data: Omit<IndexThreadData, 'role' | 'entry'>) => Worker;

/** Bundled, the thread runs the bundle itself (see cli/main.ts); from sources it loads this file through tsx. */
export function spawnIndexThread(data: Omit<IndexThreadData, 'role' | 'entry'>): Worker {
  return spawnThread(ledgerIndexMarker, __filename, data);
}

export class ThreadIndex implements QueryIndex {
  private worker: Worker | null = null;
  private readonly replies = new PendingReplies();

  /** `tip` gives the acknowledged tip when a thread (re)starts. */
  constructor(
    private readonly source: Omit<IndexSource, 'tip'>,
    private readonly tip: () => ChainPoint,
    private readonly spawn: IndexThreadSpawner = spawnIndexThread,
  ) {}

  add(rows: IndexRow[], at: IndexCoverage): void {
    this.post({ type: 'add', rows, at });
  }

  ask<Q extends IndexQuery>(query: Q): Promise<IndexAnswer[Q['op']]> {
    return this.request((n) => ({ type: 'ask', n, query })) as Promise<IndexAnswer[Q['op']]>;
  }

  /** Has the thread save its snapshot and end; with no thread running there is nothing to save. */
  async close(): Promise<void> {
    if (!this.worker) return;
    await this.request((n) => ({ type: 'close', n }));
  }

  private request(message: (n: number) => ToIndexThread): Promise<unknown> {
    return this.replies.request((n) => this.post(message(n)));
  }

  /** Stops the thread at once (the ledger's thread is going away). */
  async terminate(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  private post(m: ToIndexThread): void {
    (this.worker ??= this.start()).postMessage(m);
  }

  private start(): Worker {
    const worker = this.spawn({ ...this.source, tip: this.tip() });
    // The ledger's thread ends when its port closes; an index thread must not keep it alive.
    worker.unref();
    worker.on('message', (m: FromIndexThread) => this.replies.answer(m.n, 'error' in m ? { error: fromWire(m.error) } : { value: m.value }));
    const lost = (why: string): void => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.replies.failAll(new LedgerError('unavailable', `the ledger's query index stopped (${why}); it is rebuilt on the next question`));
    };
    worker.on('error', (err) => lost(err.message));
    worker.on('exit', (code) => lost(`its thread exited with code ${code}`));
    return worker;
  }
}

/** Opens the index the ledger's worker asked for and answers until that worker closes it. */
export async function serveIndexThread(): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const data = workerData as IndexThreadData;
  let service: IndexService | null = null;
  let failure: WireError | null = null;
  try {
    service = await IndexService.open(data);
  } catch (err) {
    failure = toWire(err);
  }
  const send = (m: FromIndexThread): void => port.postMessage(m);
  port.on('message', (m: ToIndexThread) => {
    if (m.type === 'add') {
      // A failure to add rows ends the thread (an unhandled rejection), as a throw here did: the next one replays the journal.
      void service?.add(m.rows, m.at);
      return;
    }
    if (!service) {
      // Every question fails with why; the thread then ends, so the next question tries a new one.
      send({ type: 'answer', n: m.n, error: failure ?? { reason: 'unavailable', message: 'the query index did not open' } });
      port.close();
      return;
    }
    // The service answers in the order it was asked, after every row that came before the question.
    (m.type === 'close' ? service.close() : service.answer(m.query)).then(
      (value) => send({ type: 'answer', n: m.n, value }),
      (err: unknown) => send({ type: 'answer', n: m.n, error: toWire(err) }),
    ).finally(() => {
      if (m.type === 'close') port.close();
    });
  });
}

// Loaded directly as a worker script when running from TypeScript sources (tests, tsx).
if (startedFromSource(ledgerIndexMarker)) void serveIndexThread();
