import * as fs from 'node:fs';
import { LedgerError } from './errors';
import { bucketStart, indexRowOf, LedgerIndex } from './index-db';
import type { DetailRow, IndexCoverage, IndexRow } from './index-db';
import { idTime } from './ids';
import { readRolledDecisions } from './rolled-history';
import type { RolledSpan } from './rolled-history';
import type { DecisionSummary, SpendDimension, SpendRow, TimeRange, HourlyDimension, HourlyRow, ToolActivity, ToolActivityQuery } from '../../contracts/ledger-queries';
import type { ChainPoint } from './journal';
import type { LedgerPaths } from './segments';
import { listSegments, scanJournal } from './segments';

/*
 * The query index as the ledger's core uses it, wherever the sql.js database lives. The core adds
 * rows in chain order and asks questions; a question is answered after every row added before
 * it, so an answer covers every record acknowledged before it was asked. The proxy keeps the
 * database on a thread of its own (index-thread.ts): inserting rows and writing a snapshot of the
 * database then never hold up a decision waiting to become durable.
 *
 * What each question needs, and so what the index holds (index-db.ts): `recent` (the dashboard's
 * last 50) only the newest decisions, held in detail; `spend` only sums (the dashboard asks over the
 * whole ledger, the admin API may give a range), from the detail and the rollup; `settled` and
 * `unsettledSince` (a replay) one call's state, held in detail for recent calls and read from the
 * journal for older ones; `tools` (the dashboard's tool calls) counts kept per day as records come,
 * and refused MCP calls held in detail; `removeThrough` (a prune) rebuilds from what the journal keeps. The
 * export and verify read the journal itself, never the index.
 */

export type IndexQuery =
  | { op: 'recent'; limit: number }
  | { op: 'spend'; dimension: SpendDimension; range: TimeRange }
  | { op: 'settled'; id: string }
  | { op: 'unsettledSince'; since: string }
  | { op: 'removeThrough'; seq: number }
  | { op: 'hourly'; dimension: HourlyDimension; range: Required<TimeRange> }
  | { op: 'tools'; query: ToolActivityQuery };

export interface IndexAnswer {
  recent: DecisionSummary[];
  spend: SpendRow[];
  settled: boolean;
  unsettledSince: Set<string>;
  removeThrough: void;
  hourly: HourlyRow[];
  tools: ToolActivity;
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
  /** How many of the newest decisions are held in detail (default DETAIL_WINDOW); older ones are rolled up. */
  detailWindow?: number;
}

/**
 * The newest decisions held in detail: at a team's pace (a few thousand an hour) the last several
 * hours, which the dashboard's list and every call still in flight fall within. It bounds the
 * index's memory and the cost of its snapshot, whatever the journal's length.
 */
export const DETAIL_WINDOW = 20_000;

/** Rows replayed from the journal per transaction when the index loads. */
const replayBatch = 1000;

/**
 * Holds the sql.js database on the thread that runs it and answers for it. Work is done one piece
 * at a time, in the order it was asked: a question about a rolled-up decision reads the journal,
 * and rows or questions after it wait for it.
 */
export class IndexService {
  private sinceSnapshot = 0;
  private covered: IndexCoverage | null;
  private work: Promise<unknown> = Promise.resolve();
  private readonly window: number;

  private constructor(private index: LedgerIndex, private readonly source: IndexSource, covered: IndexCoverage | null) {
    this.covered = covered;
    this.window = Math.max(1, source.detailWindow ?? DETAIL_WINDOW);
  }

  static async open(source: IndexSource): Promise<IndexService> {
    const opened = await LedgerIndex.open(source.paths.index);
    let start = opened.coverage;
    if (start && (start.seq > source.tip.seq || !listSegments(source.paths.journal).some((s) => s.firstSeq === start?.next.segment))) start = null;
    let index = opened.index;
    if (!start && opened.coverage) {
      index.close();
      index = (await LedgerIndex.open(null)).index;
    }
    const service = new IndexService(index, source, start);
    if (!(await service.replay(start, source.tip.seq))) {
      // The snapshot does not fit this journal (e.g. a prune rewrote a segment): rebuild.
      fs.rmSync(source.paths.index, { force: true });
      await service.rebuild(source.tip.seq);
    }
    return service;
  }

  add(rows: readonly IndexRow[], at: IndexCoverage): Promise<void> {
    return this.serially(async () => {
      await this.apply(rows, at);
      this.sinceSnapshot += rows.length;
      if (this.sinceSnapshot >= this.source.snapshotEvery) this.saveSnapshot();
    });
  }

  answer(q: IndexQuery): Promise<IndexAnswer[IndexQuery['op']]> {
    return this.serially(() => this.respond(q));
  }

  close(): Promise<void> {
    return this.serially(() => {
      this.saveSnapshot();
      this.index.close();
      return Promise.resolve();
    });
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const done = this.work.then(task);
    this.work = done.catch(() => undefined);
    return done;
  }

  private async respond(q: IndexQuery): Promise<IndexAnswer[IndexQuery['op']]> {
    switch (q.op) {
      case 'recent':
        return this.recent(q.limit);
      case 'spend':
        return this.spend(q.dimension, q.range);
      case 'settled':
        return this.settled(q.id);
      case 'unsettledSince':
        return this.unsettledSince(q.since);
      case 'hourly':
        return this.index.hourly(q.dimension, q.range);
      case 'tools':
        return this.index.toolActivity(q.query);
      case 'removeThrough':
        // The pruned records may lie anywhere in a rolled-up hour: rebuild from what the journal keeps.
        if (this.covered) await this.rebuild(this.covered.seq);
        this.saveSnapshot();
        return;
    }
  }

  /** Adds rows: a settle of a rolled-up decision corrects the rollup; past the window, the oldest decisions are rolled up. */
  private async apply(rows: readonly IndexRow[], at: IndexCoverage): Promise<void> {
    const missed = this.index.addBatch(rows, at);
    this.covered = at;
    for (const s of missed) {
      const was = await this.rolledDecision(s[4]);
      if (was) {
        this.index.settleRolled(was, [s[1], s[2], s[3]]);
        if (s[5]) this.index.countModelToolCalls(was[3], was[4], was[5], s[5]);
      }
    }
    if (this.index.heldAtMost() > this.window + Math.ceil(this.window / 4)) this.index.rollUp(this.window, at.seq);
  }

  private async recent(limit: number): Promise<DecisionSummary[]> {
    const held = this.index.detailCount();
    const bucket = held < limit && this.index.rolledThrough > 0 ? this.index.bucketHoldingLast(limit - held) : null;
    if (bucket === null) return this.index.recentDecisions(limit);
    const from = bucketStart(bucket);
    const older = await this.readRolled({ from, to: null, through: this.index.rolledThroughFor(from, null) });
    return this.index.recentDecisions(limit, older);
  }

  private async spend(dimension: SpendDimension, range: TimeRange): Promise<SpendRow[]> {
    const older: DetailRow[] = [];
    if (this.index.rolledThrough > 0) {
      for (const span of this.index.partialBuckets(range)) {
        older.push(...(await this.readRolled({ from: span.from, to: span.to, through: this.index.rolledThroughFor(span.from, span.to) })));
      }
    }
    return this.index.spendBy(dimension, range, older);
  }

  private async settled(id: string): Promise<boolean> {
    const held = this.index.isSettled(id);
    if (held !== null) return held;
    if (this.index.lateSettle(id)) return true;
    return (await this.rolledDecision(id))?.[17] === 1;
  }

  private async unsettledSince(since: string): Promise<Set<string>> {
    const out = this.index.unsettledSince(since);
    const through = this.index.rolledThrough > 0 ? this.index.rolledThroughFor(since, null) : 0;
    if (through > 0) for (const d of await this.readRolled({ from: since, to: null, through, unsettledOnly: true })) out.add(d[0]);
    return out;
  }

  /** A rolled-up decision in detail, as the rollup counts it; null when the index does not hold it. */
  private async rolledDecision(id: string): Promise<DetailRow | null> {
    if (this.index.rolledThrough === 0) return null;
    // Ids carry the millisecond their record was made at: read just that second of the journal.
    const t = idTime(id);
    if (t > 0 && t < MAX_TIME_MS) {
      const from = new Date(t).toISOString();
      const to = new Date(t + 1000).toISOString();
      const through = this.index.rolledThroughFor(from, to);
      const found = through > 0 ? await this.readRolled({ from, to, through, id }) : [];
      if (found.length) return found[0];
    }
    // An id that does not carry its time, or a decision no longer there (pruned): read every rolled-up one.
    const found = await this.readRolled({ from: null, to: null, through: this.index.rolledThroughFor('', null), id });
    return found[0] ?? null;
  }

  private readRolled(span: Omit<RolledSpan, 'rolledSeq'>): Promise<DetailRow[]> {
    return readRolledDecisions(this.source.paths.journal, { ...span, rolledSeq: this.index.rolledThrough }, (id) => this.index.lateSettle(id));
  }

  /** Starts the index again from an empty database and the journal as it is now, up to `tipSeq`. */
  private async rebuild(tipSeq: number): Promise<void> {
    this.index.close();
    this.index = (await LedgerIndex.open(null)).index;
    this.covered = null;
    await this.replay(null, tipSeq);
  }

  /** Replays the journal after `from` up to `tipSeq`; false when `from` does not fit the journal. */
  private async replay(from: IndexCoverage | null, tipSeq: number): Promise<boolean> {
    let batch: IndexRow[] = [];
    let expected = from ? { seq: from.seq + 1, prev: from.hash } : null;
    let at: IndexCoverage | null = from;
    for await (const line of scanJournal(this.source.paths.journal, from ? from.next : undefined)) {
      const r = line.record;
      if (!r || r.seq > tipSeq) break;
      if (expected && (r.seq !== expected.seq || r.prev !== expected.prev)) return false;
      expected = null;
      const row = indexRowOf(r);
      if (row) batch.push(row);
      at = { seq: r.seq, hash: r.hash, next: { segment: line.segment.firstSeq, offset: line.end } };
      if (batch.length >= replayBatch) {
        await this.apply(batch, at);
        batch = [];
      }
    }
    if (batch.length && at) await this.apply(batch, at);
    return true;
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

/** The largest time a Date holds, in ms. */
const MAX_TIME_MS = 8.64e15;

/** The index on the core's own thread (the command line, and tests that inject a failing disk). */
export async function openIndexHere(source: IndexSource): Promise<QueryIndex> {
  const service = await IndexService.open(source);
  // Rows arrive without a caller to tell: a failure to add them is told to every question after.
  let failed: unknown = null;
  const asLedgerError = (err: unknown): LedgerError => (LedgerError.is(err) ? err : new LedgerError('invalid', `the query index failed: ${(err as Error).message}`));
  return {
    add: (rows, at) => {
      service.add(rows, at).catch((err: unknown) => (failed ??= err));
    },
    ask: async <Q extends IndexQuery>(q: Q) => {
      try {
        const answer = (await service.answer(q)) as IndexAnswer[Q['op']];
        if (failed !== null) throw failed;
        return answer;
      } catch (err) {
        throw asLedgerError(err);
      }
    },
    close: () => service.close(),
  };
}
