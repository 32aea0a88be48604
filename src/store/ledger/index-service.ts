import * as fs from 'node:fs';
import { LedgerError } from './errors';
import { indexRowOf, LedgerIndex } from './index-db';
import type { IndexCoverage, IndexRow } from './index-db';
import type { DecisionSummary, SpendDimension, SpendRow, TimeRange } from '../../contracts/ledger-queries';
import type { ChainPoint } from './journal';
import type { LedgerPaths } from './segments';
import { listSegments, scanJournal } from './segments';

/*
 * The query index as the ledger's core uses it, wherever the sql.js database lives. The core adds
 * rows in chain order and asks questions; a question is answered after every row added before
 * it, so an answer covers every record acknowledged before it was asked. The proxy keeps the
 * database on a thread of its own (index-thread.ts): inserting rows and writing a snapshot of the
 * whole database then never hold up a decision waiting to become durable.
 */

export type IndexQuery =
  | { op: 'recent'; limit: number }
  | { op: 'spend'; dimension: SpendDimension; range: TimeRange }
  | { op: 'settled'; id: string }
  | { op: 'unsettledSince'; since: string }
  | { op: 'removeThrough'; seq: number };

export interface IndexAnswer {
  recent: DecisionSummary[];
  spend: SpendRow[];
  settled: boolean;
  unsettledSince: Set<string>;
  removeThrough: void;
}

export interface QueryIndex {
  add(rows: IndexRow[], at: IndexCoverage): void;
  ask<Q extends IndexQuery>(q: Q): Promise<IndexAnswer[Q['op']]>;
  /** Saves a snapshot and lets the database go. */
  close(): Promise<void>;
}

/** Where the index loads from and how often it saves a snapshot: plain values, so they can cross threads. */
export interface IndexSource {
  paths: LedgerPaths;
  /** The acknowledged tip: the journal is replayed up to here; rows after it arrive through add(). */
  tip: ChainPoint;
  snapshotEvery: number;
}

/** Holds the sql.js database on the thread that runs it and answers for it. */
export class IndexService {
  private sinceSnapshot = 0;

  private constructor(private readonly index: LedgerIndex, private readonly source: IndexSource) {}

  static async open(source: IndexSource): Promise<IndexService> {
    return new IndexService(await loadIndex(source.paths, source.tip), source);
  }

  add(rows: readonly IndexRow[], at: IndexCoverage): void {
    this.index.addBatch(rows, at);
    this.sinceSnapshot += rows.length;
    if (this.sinceSnapshot >= this.source.snapshotEvery) this.saveSnapshot();
  }

  answer(q: IndexQuery): IndexAnswer[IndexQuery['op']] {
    switch (q.op) {
      case 'recent':
        return this.index.recentDecisions(q.limit);
      case 'spend':
        return this.index.spendBy(q.dimension, q.range);
      case 'settled':
        return this.index.isSettled(q.id);
      case 'unsettledSince':
        return this.index.unsettledSince(q.since);
      case 'removeThrough':
        this.index.removeThrough(q.seq);
        this.saveSnapshot();
        return;
    }
  }

  close(): void {
    this.saveSnapshot();
    this.index.close();
  }

  private saveSnapshot(): void {
    try {
      this.index.saveSnapshot(this.source.paths.index);
      this.sinceSnapshot = 0;
    } catch {
      // The snapshot only saves replay time; the journal is the truth, so a failed save is not an error.
    }
  }
}

/** The index on the core's own thread (the command line, and tests that inject a failing disk). */
export async function openIndexHere(source: IndexSource): Promise<QueryIndex> {
  const service = await IndexService.open(source);
  return {
    add: (rows, at) => service.add(rows, at),
    ask: <Q extends IndexQuery>(q: Q) => {
      try {
        return Promise.resolve(service.answer(q) as IndexAnswer[Q['op']]);
      } catch (err) {
        return Promise.reject(LedgerError.is(err) ? err : new LedgerError('invalid', `the query index failed: ${(err as Error).message}`));
      }
    },
    close: () => {
      service.close();
      return Promise.resolve();
    },
  };
}

/** Loads the index snapshot and replays the journal after it; rebuilds from scratch if it does not fit. */
async function loadIndex(paths: LedgerPaths, tip: ChainPoint): Promise<LedgerIndex> {
  const opened = await LedgerIndex.open(paths.index);
  let index = opened.index;
  let start: IndexCoverage | null = opened.coverage;
  if (start && (start.seq > tip.seq || !listSegments(paths.journal).some((s) => s.firstSeq === start?.next.segment))) start = null;
  if (!start && opened.coverage) {
    index.close();
    index = (await LedgerIndex.open(null)).index;
  }
  let batch: IndexRow[] = [];
  let expected = start ? { seq: start.seq + 1, prev: start.hash } : null;
  let at: IndexCoverage | null = start;
  const flush = (): void => {
    if (batch.length && at) index.addBatch(batch, at);
    batch = [];
  };
  for await (const line of scanJournal(paths.journal, start ? start.next : undefined)) {
    const r = line.record;
    if (!r || r.seq > tip.seq) break;
    if (expected && (r.seq !== expected.seq || r.prev !== expected.prev)) {
      // The snapshot does not fit this journal (e.g. a prune rewrote a segment): rebuild.
      index.close();
      return rebuildIndex(paths, tip);
    }
    expected = null;
    const row = indexRowOf(r);
    if (row) batch.push(row);
    at = { seq: r.seq, hash: r.hash, next: { segment: line.segment.firstSeq, offset: line.end } };
    if (batch.length >= 1000) flush();
  }
  flush();
  return index;
}

async function rebuildIndex(paths: LedgerPaths, tip: ChainPoint): Promise<LedgerIndex> {
  fs.rmSync(paths.index, { force: true });
  return loadIndex(paths, tip);
}
