import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureDataDir } from '../data-dir';
import { LedgerError } from './errors';
import { HeadWriter, readHead } from './head';
import type { SignedHead } from './head';
import { IdGenerator } from './ids';
import type { LedgerIo } from './io';
import { fsyncDir, nodeIo } from './io';
import type { ChainPoint, JournalStats } from './journal';
import { JournalWriter } from './journal';
import { LedgerIndex } from './index-db';
import type { DecisionSummary, IndexCoverage, SpendDimension, SpendRow, TimeRange } from './index-db';
import { DirLock } from './lock';
import { pruneJournal } from './prune';
import type { PruneResult } from './prune';
import type { RecordRange } from './reader';
import { normaliseTime, readRecords } from './reader';
import type { AuditRecord, DecisionRecord, LedgerEntry, SettleRecord } from './records';
import { GENESIS_HASH } from './records';
import type { LedgerPaths, Segment } from './segments';
import { ledgerPaths, listSegments, readLines, parseLine, scanJournal, segmentName } from './segments';
import { recordBytes, sha256Hex, Signer } from './signer';

/*
 * The signed audit ledger, as the proxy uses it.
 *
 *   const ledger = await Ledger.open(dataDir, { clock });   // takes the data dir lock, recovers a torn tail
 *   if (!ledger.health.ok) -> answer 503 with ledger.health.reason (fail closed)
 *   const { record, durable } = ledger.append(entry);      // id/seq/hash/sig assigned now
 *   ...forward upstream...; await durable;                 // then send record.id (x-tollgate-decision)
 *   ledger.append({ kind: 'settle', decision: record.id, ... });
 *   for await (const { decision, settle } of ledger.replay(periodStart)) ...   // restore spend at startup
 *   ledger.recentDecisions(50); ledger.spendBy('user', { since });             // dashboard
 *   await ledger.close();                                  // flush, fsync, snapshot index, unlock
 *
 * append() throws LedgerError('unavailable') while health is not ok and LedgerError('closed')
 * after close(); `durable` rejects with LedgerError('unavailable') when the write fails, and the
 * record is then not part of the chain (its seq is reused).
 */

export interface LedgerOptions {
  /** Milliseconds since the epoch; record times never go backwards even if this does. */
  clock?: () => number;
  /** Wait this long before a write to gather more records (0: write as soon as the previous fsync ends). */
  groupCommitMs?: number;
  /** Most records per write+fsync; 1 turns group commit off (benchmarks compare the two). */
  maxBatch?: number;
  /** Start a new journal segment past this size. */
  segmentBytes?: number;
  /** Save the query index snapshot after this many new records (and at close). */
  snapshotEvery?: number;
  /** How often to retry after a write failure. */
  retryMs?: number;
  /** The write layer (tests inject failures). */
  io?: LedgerIo;
  /** Keep the sql.js query index (dashboard queries, fast replay); on by default. */
  index?: boolean;
  /** Told whenever health changes (the proxy logs it). */
  onHealthChange?: (health: LedgerHealth) => void;
}

export type LedgerHealth = { ok: true } | { ok: false; reason: string };

/** What open() had to repair: a torn tail after a crash, cut off because it was never acknowledged. */
export interface RecoveryNote {
  segment: string;
  offset: number;
  bytes: number;
  problem: string;
}

export interface ReplayItem {
  decision: DecisionRecord;
  /** The decision's settle record, or null: the call never settled, so it counts at `reserved`. */
  settle: SettleRecord | null;
}

export class Ledger {
  private tip: { seq: number; hash: string; timeMs: number };
  private healthState: LedgerHealth = { ok: true };
  private closed = false;
  private sinceSnapshot = 0;

  private constructor(
    readonly dataDir: string,
    private readonly paths: LedgerPaths,
    private readonly lock: DirLock,
    private readonly signer: Signer,
    private readonly ids: IdGenerator,
    private readonly writer: JournalWriter,
    private readonly index: LedgerIndex | null,
    private readonly options: Required<Pick<LedgerOptions, 'clock' | 'snapshotEvery'>> & LedgerOptions,
    tip: ChainPoint,
    /** Set when open() cut off a torn tail; the proxy logs it. */
    readonly recovered: RecoveryNote | null,
  ) {
    this.tip = { seq: tip.seq, hash: tip.hash, timeMs: tip.time ? Date.parse(tip.time) : 0 };
  }

  static async open(dataDir: string, options: LedgerOptions = {}): Promise<Ledger> {
    ensureDataDir(dataDir);
    const paths = ledgerPaths(dataDir);
    fs.mkdirSync(paths.journal, { recursive: true, mode: 0o700 });
    const lock = DirLock.acquire(paths.lock);
    try {
      return await Ledger.openLocked(dataDir, paths, lock, options);
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  private static async openLocked(dataDir: string, paths: LedgerPaths, lock: DirLock, options: LedgerOptions): Promise<Ledger> {
    const signer = Signer.loadOrCreate(dataDir);
    const { head, forged } = readHead(paths.head, signer.publicKey);
    if (forged) throw new LedgerError('corrupt', `${paths.head}: ${forged}; run tollgate audit verify`);
    let segments = listSegments(paths.journal);
    let headWriter: HeadWriter;
    let tail: Tail;
    if (segments.length === 0) {
      if (head && head.seq > 0) throw new LedgerError('corrupt', `the journal in ${paths.journal} is gone but the signed head names seq ${head.seq}`);
      fs.closeSync(fs.openSync(path.join(paths.journal, segmentName(1)), 'wx', 0o600));
      fsyncDir(paths.journal);
      segments = listSegments(paths.journal);
      headWriter = HeadWriter.open(paths.head, signer, null);
      // The head exists from the start, so "journal has records but no head" always means tampering.
      await headWriter.writeBoth({ seq: 0, hash: GENESIS_HASH, time: null }, options.io ?? nodeIo);
      tail = { tip: { seq: 0, hash: GENESIS_HASH, time: null, next: { segment: 1, offset: 0 } }, lastId: undefined, recovered: null };
    } else {
      tail = await recoverTail(segments, head, paths);
      headWriter = HeadWriter.open(paths.head, signer, head);
    }
    let last = segments[segments.length - 1];
    if (fs.statSync(last.file).size === 0 && last.firstSeq !== tail.tip.seq + 1) {
      // An empty segment left by a crash right after a roll: name it for the seq it will start at.
      const renamed = { file: path.join(paths.journal, segmentName(tail.tip.seq + 1)), firstSeq: tail.tip.seq + 1 };
      fs.renameSync(last.file, renamed.file);
      fsyncDir(paths.journal);
      last = renamed;
      tail.tip = { ...tail.tip, next: { segment: last.firstSeq, offset: 0 } };
    }
    const fd = fs.openSync(last.file, fs.constants.O_RDWR);
    const size = fs.fstatSync(fd).size;

    let index: LedgerIndex | null = null;
    if (options.index !== false) index = await loadIndex(paths, tail.tip);

    let ledger: Ledger | null = null;
    const writer = new JournalWriter(paths.journal, { firstSeq: last.firstSeq, fd }, size, tail.tip, headWriter, path.join(paths.root, '.probe'), {
      io: options.io ?? nodeIo,
      groupCommitMs: options.groupCommitMs ?? 0,
      maxBatch: options.maxBatch ?? 10_000,
      segmentBytes: options.segmentBytes ?? 64 * 1024 * 1024,
      retryMs: options.retryMs ?? 1000,
      onDurable: (records, at) => ledger?.indexDurable(records, at),
      onHealth: (reason) => ledger?.setHealth(reason),
      onRollback: (to) => ledger?.rollback(to),
    });
    ledger = new Ledger(dataDir, paths, lock, signer, new IdGenerator(tail.lastId), writer, index,
      { clock: Date.now, snapshotEvery: 50_000, ...options }, tail.tip, tail.recovered);
    return ledger;
  }

  get health(): LedgerHealth {
    return this.healthState;
  }

  /** The last acknowledged record: what the signed head names. */
  get head(): { seq: number; hash: string } {
    const a = this.writer.acknowledged;
    return { seq: a.seq, hash: a.hash };
  }

  get stats(): JournalStats {
    return this.writer.stats;
  }

  publicKeyPem(): string {
    return this.signer.publicKeyPem();
  }

  /**
   * Assigns id, seq, time, prev, hash and sig now and queues the record for the next group
   * commit. `durable` resolves once it is fsynced under a signed head; send the id to a client
   * only then.
   */
  append<E extends LedgerEntry>(entry: E): { record: AuditRecord<E>; durable: Promise<void> } {
    if (this.closed) throw new LedgerError('closed', 'the ledger is closed');
    if (!this.healthState.ok) throw new LedgerError('unavailable', `the ledger cannot write: ${this.healthState.reason}`);
    const timeMs = Math.max(this.options.clock(), this.tip.timeMs);
    const seq = this.tip.seq + 1;
    const unsigned = { id: this.ids.next(timeMs), seq, time: new Date(timeMs).toISOString(), ...entry, prev: this.tip.hash };
    const bytes = recordBytes(unsigned); // throws LedgerError('invalid') before any state changes
    const record = { ...unsigned, hash: sha256Hex(bytes), sig: this.signer.sign(bytes) } as AuditRecord<E>;
    this.tip = { seq, hash: record.hash, timeMs };
    let resolve!: () => void;
    let reject!: (err: Error) => void;
    const durable = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A caller that drops `durable` must not crash the process with an unhandled rejection.
    durable.catch(() => undefined);
    this.writer.enqueue({ record, line: `${JSON.stringify(record)}\n`, resolve, reject });
    return { record, durable };
  }

  /** Acknowledged records, oldest first, streamed from the journal in bounded memory. */
  records(range: RecordRange = {}): AsyncIterable<AuditRecord> {
    return readRecords(this.paths.journal, range, this.writer.acknowledged.seq);
  }

  /**
   * For restoring spend after a restart: every decision from `since` on (a time or seq), each with
   * its settle record or null. Settled decisions come out when their settle is read, so memory
   * holds only calls in flight at that point of the journal, not the whole period.
   */
  async *replay(since: string | number): AsyncIterable<ReplayItem> {
    const unsettled = this.index && typeof since === 'string' ? this.index.unsettledSince(normaliseTime(since)) : null;
    const waiting = new Map<string, DecisionRecord>();
    for await (const r of this.records({ since })) {
      if (r.kind === 'decision') {
        if (unsettled?.has(r.id)) yield { decision: r as DecisionRecord, settle: null };
        else waiting.set(r.id, r as DecisionRecord);
      } else if (r.kind === 'settle') {
        const decision = waiting.get(r.decision);
        if (decision) {
          waiting.delete(r.decision);
          yield { decision, settle: r as SettleRecord };
        }
      }
    }
    for (const decision of waiting.values()) yield { decision, settle: null };
  }

  /** Whether a decision has a settle record (from the index). */
  isSettled(decisionId: string): boolean {
    return this.requireIndex().isSettled(decisionId);
  }

  recentDecisions(limit = 50): DecisionSummary[] {
    return this.requireIndex().recentDecisions(limit);
  }

  /** Spend grouped by user, `user/agent`, model served or UTC day; settled cost, else reserved. */
  spendBy(dimension: SpendDimension, range: TimeRange = {}): SpendRow[] {
    const r: TimeRange = {};
    if (range.since !== undefined) r.since = normaliseTime(range.since);
    if (range.until !== undefined) r.until = normaliseTime(range.until);
    return this.requireIndex().spendBy(dimension, r);
  }

  /** Removes records older than `before`, leaving a signed checkpoint that stands for them. */
  async prune(before: string): Promise<PruneResult> {
    const cutoff = normaliseTime(before);
    await this.writer.rollNow();
    const result = await pruneJournal(this.paths.journal, cutoff, this.writer.acknowledged.seq, async (entry) => {
      const { record, durable } = this.append(entry);
      await durable;
      return record.id;
    });
    if (result.removed > 0 && this.index) {
      this.index.removeThrough(result.lastSeq);
      this.saveSnapshot();
    }
    return result;
  }

  /** Flushes and fsyncs what is queued, snapshots the index, releases the data dir lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer.drain();
    this.writer.close();
    if (this.index) {
      this.saveSnapshot();
      this.index.close();
    }
    this.lock.release();
  }

  private requireIndex(): LedgerIndex {
    if (!this.index) throw new LedgerError('invalid', 'this ledger was opened without its query index');
    return this.index;
  }

  private indexDurable(records: AuditRecord[], at: ChainPoint): void {
    if (!this.index) return;
    this.index.addBatch(records, { seq: at.seq, hash: at.hash, next: at.next });
    this.sinceSnapshot += records.length;
    if (this.sinceSnapshot >= this.options.snapshotEvery) this.saveSnapshot();
  }

  private saveSnapshot(): void {
    if (!this.index) return;
    try {
      this.index.saveSnapshot(this.paths.index);
      this.sinceSnapshot = 0;
    } catch {
      // The snapshot only saves replay time; the journal is the truth, so a failed save is not an error.
    }
  }

  private setHealth(reason: string | null): void {
    this.healthState = reason === null ? { ok: true } : { ok: false, reason };
    this.options.onHealthChange?.(this.healthState);
  }

  private rollback(to: ChainPoint): void {
    this.tip = { ...this.tip, seq: to.seq, hash: to.hash };
  }
}

interface Tail {
  tip: ChainPoint;
  lastId: string | undefined;
  recovered: RecoveryNote | null;
}

/**
 * Finds the chain tip at the end of the journal. After a crash the last segment may end in a
 * torn line (or a few lines of a batch that never finished): if everything from the first bad
 * line on lies after the signed head, it was never acknowledged and is cut off. Damage at or
 * before the head is not a torn write: open refuses and says where.
 */
async function recoverTail(segments: Segment[], head: SignedHead | null, paths: LedgerPaths): Promise<Tail> {
  const headSeq = head?.seq ?? 0;
  let tip: ChainPoint | null = null;
  let lastId: string | undefined;
  let recovered: RecoveryNote | null = null;
  // Walk back over empty segments (a crash right after a roll) to the one holding the tip.
  for (let i = segments.length - 1; i >= 0 && tip === null; i--) {
    const seg = segments[i];
    let prev: AuditRecord | null = null;
    let bad: { offset: number; problem: string } | null = null;
    let end = 0;
    for await (const raw of readLines(seg.file)) {
      const line = parseLine(raw, seg);
      const r = line.record;
      const problem = line.problem ?? (r && prev && (r.seq !== prev.seq + 1 || r.prev !== prev.hash) ? `seq ${r.seq} does not follow seq ${prev.seq}` : null);
      if (problem || !r) {
        bad = { offset: line.offset, problem: problem ?? 'unreadable line' };
        break;
      }
      prev = r;
      end = line.end;
    }
    if (bad) {
      const lastGood = prev?.seq ?? seg.firstSeq - 1;
      if (lastGood < headSeq) {
        throw new LedgerError('corrupt', `${seg.file} is damaged at byte ${bad.offset} (${bad.problem}), before the acknowledged record seq ${headSeq}; this is not a torn write. Run tollgate audit verify.`);
      }
      const size = fs.statSync(seg.file).size;
      const fd = fs.openSync(seg.file, fs.constants.O_RDWR);
      try {
        fs.ftruncateSync(fd, bad.offset);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      recovered = { segment: seg.file, offset: bad.offset, bytes: size - bad.offset, problem: bad.problem };
    }
    if (i !== segments.length - 1 && prev === null) continue;
    if (prev) {
      tip = { seq: prev.seq, hash: prev.hash, time: prev.time, next: { segment: seg.firstSeq, offset: end } };
      lastId = prev.id;
    } else if (i === 0 || segments.length === 1) {
      tip = { seq: 0, hash: GENESIS_HASH, time: null, next: { segment: seg.firstSeq, offset: 0 } };
    }
  }
  if (!tip) throw new LedgerError('corrupt', `no record found in ${paths.journal}`);
  const last = segments[segments.length - 1];
  if (tip.next.segment !== last.firstSeq) tip = { ...tip, next: { segment: last.firstSeq, offset: 0 } };
  if (!head && tip.seq > 0) throw new LedgerError('corrupt', `${paths.head} (the signed head) is missing but the journal holds records; run tollgate audit verify`);
  if (tip.seq < headSeq) {
    throw new LedgerError('corrupt', `the journal ends at seq ${tip.seq} but the signed head names seq ${headSeq}: acknowledged records are missing. Run tollgate audit verify.`);
  }
  if (head && tip.seq === headSeq && tip.hash !== head.hash) {
    throw new LedgerError('corrupt', `record seq ${headSeq} does not match the signed head. Run tollgate audit verify.`);
  }
  return { tip, lastId, recovered };
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
  let batch: AuditRecord[] = [];
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
    batch.push(r);
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
