import * as fs from 'node:fs';
import * as path from 'node:path';
import type { KeyObject } from 'node:crypto';
import { ChainChecker, commitSignatureHolds, recordLabel } from './chain';
import { LedgerError, verifyHint } from './errors';
import { HeadWriter, newLedgerId, readHead } from './head';
import type { SignedHead } from './head';
import type { LedgerIo } from './io';
import { fsyncDir } from './io';
import type { ChainPoint, JournalStats } from './journal';
import { JournalWriter } from './journal';
import { indexRowOf } from './index-db';
import type { IndexRow } from './index-db';
import type { DecisionSummary, SpendDimension, SpendRow, TimeRange, HourlyDimension, HourlyRow, ToolActivity, ToolActivityQuery } from '../../contracts/ledger-queries';
import type { QueryIndex } from './index-service';
import { openIndexHere } from './index-service';
import { ThreadIndex } from './index-thread';
import type { IndexThreadSpawner } from './index-thread';
import type { AuditRecord, LedgerEntry } from '../../contracts/audit-records';
import { GENESIS_HASH } from '../../contracts/audit-records';
import type { LedgerPaths, RawLine, Segment } from './segments';
import { ledgerPaths, listSegments, readLines, parseLine, segmentName } from './segments';
import { recordHash, Signer } from './signer';
import { describeProblem } from './verify';
import { counted } from '../../contracts/wording';

/*
 * The ledger's write side and its query index: seals each record into the hash chain (seq, prev,
 * hash), writes it with group commit (the journal signs the last record of each commit, and the
 * signed head follows, journal.ts), and feeds the sql.js query index (index-service.ts), which the
 * proxy keeps on a thread of its own (index-thread.ts).
 *
 * Why it is separate from Ledger (ledger.ts): sealing (canonical JSON, sha256, an Ed25519
 * signature of about 40 µs per commit), the fdatasync and the index cost more than the rest of a proxied call
 * (bench/README.md, Proxy). The proxy runs this core on a worker thread (worker.ts), so its request
 * thread only assigns each record's id and time; the command line and tests run it on their own
 * thread. Both talk to it the same way: records go in tagged with a ticket, and acknowledgements,
 * rejections and health changes come back as events in the order they happened.
 */

/** A record to seal: the id and time the caller assigned (and already answered with), and its body. */
export interface SealRequest {
  ticket: number;
  id: string;
  time: string;
  entry: LedgerEntry;
  /** No client waits on this record: it may wait a little for a commit to share (journal.ts, LAZY_COMMIT_MS). */
  lazy?: boolean;
}

/** Where a record landed in the chain. */
export interface Sealed {
  seq: number;
  hash: string;
}

/** The events the core reports; each batch of them comes out in the order it happened. */
export interface CoreEvents {
  /** These tickets are on disk, covered by their commit's signature; `sealed[i]` is where `tickets[i]` landed. */
  acked(tickets: number[], sealed: Sealed[], head: Sealed, stats: JournalStats): void;
  /** These tickets never joined the chain. */
  rejected(tickets: number[], error: LedgerError): void;
  /** null: writes work; else why they do not. */
  health(reason: string | null): void;
}

/** The core's settings: plain values, so they can cross to a worker thread. */
export interface CoreOptions {
  groupCommitMs: number;
  maxBatch: number;
  segmentBytes: number;
  snapshotEvery: number;
  retryMs: number;
  /** Free space the journal leaves on its disk (0: none), read at most once per diskCheckMs. */
  diskReserveBytes: number;
  diskCheckMs: number;
  /** 'none': no query index; 'here': on the core's thread; 'thread': on a thread of its own. */
  index: 'none' | 'here' | 'thread';
}

/** What open() had to repair: a tail no signature covers after a crash, cut off because it was never acknowledged. */
export interface RecoveryNote {
  segment: string;
  offset: number;
  bytes: number;
  problem: string;
}

/** What the caller needs to carry on the chain after open: ids and times continue from its tip. */
export interface OpenedChain {
  head: Sealed;
  tipTime: string | null;
  lastId: string | undefined;
  recovered: RecoveryNote | null;
  /** Open checked every record from this seq to the head (hash and link): a replay need not hash them again. */
  checkedFrom: number;
}

/** Questions and commands for the core, answered with a value (see CoreAnswer). */
export type CoreCall =
  | { op: 'recent'; limit: number }
  | { op: 'spend'; dimension: SpendDimension; range: TimeRange }
  | { op: 'settled'; id: string }
  | { op: 'unsettledSince'; since: string }
  | { op: 'removeThrough'; seq: number }
  | { op: 'hourly'; dimension: HourlyDimension; range: Required<TimeRange> }
  | { op: 'tools'; query: ToolActivityQuery }
  | { op: 'roll' }
  | { op: 'drain' }
  | { op: 'close' };

export interface CoreAnswer {
  recent: DecisionSummary[];
  spend: SpendRow[];
  settled: boolean;
  unsettledSince: Set<string>;
  removeThrough: void;
  hourly: HourlyRow[];
  tools: ToolActivity;
  roll: void;
  drain: void;
  close: void;
}

const indexEveryMs = 50;
const indexBatchMax = 5000;

export class LedgerCore {
  private tip: Sealed;
  private failure: string | null = null;
  private acks: { tickets: number[]; sealed: Sealed[] } = { tickets: [], sealed: [] };
  private rejections: { tickets: number[]; error: LedgerError }[] = [];
  private reportScheduled = false;
  private unindexed: { rows: IndexRow[]; at: ChainPoint | null } = { rows: [], at: null };
  private indexTimer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly writer: JournalWriter,
    private readonly index: QueryIndex | null,
    private readonly events: CoreEvents,
    tip: ChainPoint,
  ) {
    this.tip = { seq: tip.seq, hash: tip.hash };
  }

  /** Opens the journal in `dataDir` (whose lock the caller holds), cutting off what the signed head does not cover. */
  static async open(
    dataDir: string,
    options: CoreOptions,
    io: LedgerIo,
    events: CoreEvents,
    spawnIndex?: IndexThreadSpawner,
  ): Promise<{ core: LedgerCore; opened: OpenedChain }> {
    const paths = ledgerPaths(dataDir);
    const signer = Signer.loadOrCreate(dataDir);
    const { head, forged } = readHead(paths.head, signer.publicKey);
    if (forged) throw new LedgerError('corrupt', `${paths.head}: ${forged}. ${verifyHint(dataDir)}`);
    let segments = listSegments(paths.journal);
    let headWriter: HeadWriter;
    let tail: Tail;
    if (segments.length === 0) {
      if (head && head.seq > 0) throw new LedgerError('corrupt', `the journal in ${paths.journal} is gone but the signed head names seq ${head.seq}. ${verifyHint(dataDir)}`);
      fs.closeSync(fs.openSync(path.join(paths.journal, segmentName(1)), 'wx', 0o600));
      fsyncDir(paths.journal);
      segments = listSegments(paths.journal);
      // The genesis head names the new ledger's identity. It exists from the start, so "journal has
      // records but no head" always means tampering.
      headWriter = HeadWriter.open(paths.head, signer, null, newLedgerId());
      await headWriter.writeBoth({ seq: 0, hash: GENESIS_HASH, time: null }, io);
      tail = { tip: { seq: 0, hash: GENESIS_HASH, time: null, next: { segment: 1, offset: 0 } }, lastId: undefined, recovered: null, checkedFrom: 1 };
    } else {
      tail = await recoverTail(segments, head, paths, dataDir, signer.publicKey);
      headWriter = HeadWriter.open(paths.head, signer, head, head?.ledger ?? newLedgerId());
      // A ledger from before identities (or one whose genesis head a crash cut short) is given one
      // now; a head that lagged the commits adopted after it is brought up to them.
      if (!head?.ledger || tail.tip.seq !== head.seq) await headWriter.writeBoth({ seq: tail.tip.seq, hash: tail.tip.hash, time: tail.tip.time }, io);
    }
    let last = segments[segments.length - 1];
    // The journal goes on in the last segment, even when recovery emptied it (it held only lines after the head).
    if (tail.tip.next.segment !== last.firstSeq) tail.tip = { ...tail.tip, next: { segment: last.firstSeq, offset: 0 } };
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

    let core: LedgerCore | null = null;
    const writer = new JournalWriter(paths.journal, { firstSeq: last.firstSeq, fd }, size, tail.tip, headWriter, path.join(paths.root, '.probe'), {
      io,
      groupCommitMs: options.groupCommitMs,
      maxBatch: options.maxBatch,
      segmentBytes: options.segmentBytes,
      retryMs: options.retryMs,
      diskReserveBytes: options.diskReserveBytes,
      diskCheckMs: options.diskCheckMs,
      onDurable: (records, at) => core?.indexDurable(records, at),
      onHealth: (reason) => core?.setHealth(reason),
      onRollback: (to) => core?.rollback(to),
    });
    const index =
      options.index === 'none'
        ? null
        : options.index === 'thread'
          ? new ThreadIndex({ paths, snapshotEvery: options.snapshotEvery }, () => writer.acknowledged, spawnIndex)
          : await openIndexHere({ paths, tip: tail.tip, snapshotEvery: options.snapshotEvery });
    core = new LedgerCore(writer, index, events, tail.tip);
    const opened: OpenedChain = { head: { seq: tail.tip.seq, hash: tail.tip.hash }, tipTime: tail.tip.time, lastId: tail.lastId, recovered: tail.recovered, checkedFrom: tail.checkedFrom };
    return { core, opened };
  }

  /**
   * Seals the records in order and queues them for the next group commit. One that cannot be
   * recorded (writes failing, an entry that has no canonical form) is rejected without taking a seq.
   */
  seal(requests: readonly SealRequest[]): void {
    for (const r of requests) {
      if (this.failure !== null) {
        this.reject(r.ticket, new LedgerError('unavailable', `the ledger cannot write: ${this.failure}`));
        continue;
      }
      const seq = this.tip.seq + 1;
      // One object per record, in the line's key order; hash and sig are filled in place (the
      // hash skips both, canonical.ts), and the journal signs the last record of each commit as
      // it writes it (journal.ts).
      const record = { id: r.id, seq, time: r.time, ...r.entry, prev: this.tip.hash, hash: '', sig: null } as AuditRecord;
      try {
        record.hash = recordHash(record);
      } catch (err) {
        this.reject(r.ticket, LedgerError.is(err) ? err : new LedgerError('invalid', String(err)));
        continue;
      }
      this.tip = { seq, hash: record.hash };
      const ticket = r.ticket;
      this.writer.enqueue({
        record,
        line: `${JSON.stringify(record)}\n`,
        resolve: () => {
          this.acks.tickets.push(ticket);
          this.acks.sealed.push({ seq, hash: record.hash });
          this.scheduleReport();
        },
        reject: (err) => this.reject(ticket, err as LedgerError),
        lazy: r.lazy === true,
      });
    }
  }

  async call<C extends CoreCall>(c: C): Promise<CoreAnswer[C['op']]> {
    const answer = await this.answer(c);
    this.report(); // whatever the call settled is told before its answer
    return answer as CoreAnswer[C['op']];
  }

  private async answer(c: CoreCall): Promise<CoreAnswer[CoreCall['op']]> {
    this.indexNow(); // every answer covers every acknowledged record
    switch (c.op) {
      case 'recent':
      case 'spend':
      case 'settled':
      case 'hourly':
      case 'tools':
        return this.requireIndex().ask(c);
      case 'unsettledSince':
        return this.index ? this.index.ask(c) : new Set<string>();
      case 'removeThrough':
        return this.index?.ask(c);
      case 'roll':
        return this.writer.rollNow();
      case 'drain':
        return this.writer.drain();
      case 'close':
        await this.writer.drain();
        this.writer.close();
        this.indexNow();
        return this.index?.close();
    }
  }

  private reject(ticket: number, error: LedgerError): void {
    const last = this.rejections[this.rejections.length - 1];
    if (last && last.error === error) last.tickets.push(ticket);
    else this.rejections.push({ tickets: [ticket], error });
    this.scheduleReport();
  }

  /** Acknowledgements and rejections settle together in a turn; they are reported as one batch. */
  private scheduleReport(): void {
    if (this.reportScheduled) return;
    this.reportScheduled = true;
    queueMicrotask(() => this.report());
  }

  private report(): void {
    this.reportScheduled = false;
    // Acknowledged records always precede the rejected ones: a rollback only rejects what came after.
    if (this.acks.tickets.length) {
      const { tickets, sealed } = this.acks;
      this.acks = { tickets: [], sealed: [] };
      const a = this.writer.acknowledged;
      this.events.acked(tickets, sealed, { seq: a.seq, hash: a.hash }, { ...this.writer.stats });
    }
    const rejections = this.rejections;
    this.rejections = [];
    for (const r of rejections) this.events.rejected(r.tickets, r.error);
  }

  private requireIndex(): QueryIndex {
    if (!this.index) throw new LedgerError('invalid', 'this ledger was opened without its query index');
    return this.index;
  }

  /**
   * Acknowledged records reach the index within indexEveryMs, in one transaction, or at once when a
   * question comes. Group commits under load hold a few records each, and a transaction per
   * commit cost more than sealing them.
   */
  private indexDurable(records: AuditRecord[], at: ChainPoint): void {
    if (!this.index) return;
    for (const r of records) {
      const row = indexRowOf(r);
      if (row) this.unindexed.rows.push(row);
    }
    this.unindexed.at = at;
    if (this.unindexed.rows.length >= indexBatchMax) this.indexNow();
    else this.indexTimer ??= setTimeout(() => this.indexNow(), indexEveryMs);
  }

  private indexNow(): void {
    if (this.indexTimer) clearTimeout(this.indexTimer);
    this.indexTimer = null;
    const { rows, at } = this.unindexed;
    if (!this.index || !at) return;
    this.unindexed = { rows: [], at: null };
    this.index.add(rows, { seq: at.seq, hash: at.hash, next: at.next });
  }

  private setHealth(reason: string | null): void {
    this.failure = reason;
    this.report(); // what happened before the change is told first
    this.events.health(reason);
  }

  private rollback(to: ChainPoint): void {
    this.tip = { seq: to.seq, hash: to.hash };
  }
}

interface Tail {
  tip: ChainPoint;
  lastId: string | undefined;
  recovered: RecoveryNote | null;
  checkedFrom: number;
}

/**
 * Finds the chain tip. The segment holding the head's record is the one the proxy extends, so each
 * of its records up to the head is checked (hash and link, see chain.ts) and the one at the head's
 * seq must be the one the head names; damage there is not a crash, and open refuses, naming the
 * first bad record.
 *
 * After the head come the commits the head had not caught up with when the process stopped
 * (journal.ts: a commit is acknowledged once its lines, ending in its signed record, are synced;
 * the head follows). Each record there is checked the same way, and each signature against the
 * key; the tip is the last record whose commit signature holds with every record before it
 * sound. What follows it no signature covers (a torn line, a commit a crash cut short, lines
 * someone appended) was never acknowledged: it is cut off, never adopted. Were any valid commit
 * signature found past a break in the chain, an acknowledged record would lie behind damage:
 * that is not a crash either, and open refuses.
 */
async function recoverTail(segments: Segment[], head: SignedHead | null, paths: LedgerPaths, dataDir: string, publicKey: KeyObject): Promise<Tail> {
  const headSeq = head?.seq ?? 0;
  const ledgerId = head?.ledger ?? null;
  const hint = verifyHint(dataDir);
  // The head's record lies in the last segment whose name (a lower bound of its seqs) is <= the head's seq.
  let at = -1;
  for (let i = 0; i < segments.length; i++) if (headSeq > 0 && segments[i].firstSeq <= headSeq) at = i;
  if (!head && segments.some((seg) => fs.statSync(seg.file).size > 0)) {
    throw new LedgerError('corrupt', `${paths.head} (the signed head) is missing but the journal holds records; ${hint}`);
  }

  let tip: ChainPoint = { seq: 0, hash: GENESIS_HASH, time: null, next: { segment: segments[0]?.firstSeq ?? 1, offset: 0 } };
  let lastId: string | undefined;
  let checkedFrom = headSeq + 1;
  const chain = new ChainChecker(null);
  // Where the lines after the head's record begin.
  let tailFrom = { index: 0, offset: 0 };
  if (at >= 0) {
    const seg = segments[at];
    let lineNo = 0;
    let end = 0;
    for await (const raw of readLines(seg.file)) {
      if (chain.last?.seq === headSeq) break;
      lineNo++;
      const line = parseLine(raw, seg);
      const r = line.record;
      if (!r) {
        throw new LedgerError('corrupt', `${seg.file} is damaged at byte ${raw.offset} (line ${lineNo}: ${line.problem ?? 'unreadable line'}), before the acknowledged record seq ${headSeq}; this is not a torn write. ${hint}`);
      }
      const problem = chain.check(r) ?? (r.seq > headSeq ? `${recordLabel(r)} lies before the record the signed head names (seq ${headSeq}), which is missing` : null);
      if (problem) throw new LedgerError('corrupt', `${describeProblem({ seq: r.seq, id: typeof r.id === 'string' ? r.id : null, file: seg.file, line: lineNo, message: problem })}. ${hint}`);
      checkedFrom = Math.min(checkedFrom, r.seq);
      end = raw.end;
    }
    const last = chain.last;
    if (!last || last.seq < headSeq) {
      throw new LedgerError('corrupt', `the journal ends at seq ${last?.seq ?? seg.firstSeq - 1} but the signed head names seq ${headSeq}: acknowledged records are missing. ${hint}`);
    }
    if (last.hash !== head?.hash) throw new LedgerError('corrupt', `record seq ${headSeq} does not match the signed head. ${hint}`);
    tip = { seq: last.seq, hash: last.hash, time: last.time, next: { segment: seg.firstSeq, offset: end } };
    lastId = last.id;
    tailFrom = { index: at, offset: end };
  } else if (headSeq > 0) {
    throw new LedgerError('corrupt', `the signed head names seq ${headSeq} but no journal segment in ${paths.journal} can hold it: acknowledged records are missing. ${hint}`);
  }

  // The commits after the head: adopted up to the last one whose signed record holds.
  const tail = new ChainChecker({ publicKey, ledger: ledgerId, recordSignatures: false });
  if (chain.last) tail.follow(chain.last);
  let cutFrom = tailFrom;
  let cut = { lines: 0, first: '' };
  let broken: string | null = null;
  for (let i = tailFrom.index; i < segments.length; i++) {
    const seg = segments[i];
    for await (const raw of readLines(seg.file, i === tailFrom.index ? tailFrom.offset : 0)) {
      if (cut.lines++ === 0) cut.first = cutLineProblem(raw, seg);
      const line = parseLine(raw, seg);
      const r = line.record;
      if (broken) {
        if (r && commitSignatureHolds(publicKey, r, ledgerId)) {
          throw new LedgerError('corrupt', `${recordLabel(r)} in ${seg.file} is a signed, acknowledged commit, but the chain before it is damaged after the signed head (seq ${headSeq}): ${broken}. ${hint}`);
        }
        continue;
      }
      const problem = !r
        ? `${seg.file} at byte ${raw.offset}: ${line.problem ?? 'unreadable line'}`
        : (tail.last === null && r.seq !== 1 ? `${recordLabel(r)} should be seq 1` : tail.check(r));
      if (problem || !r) {
        broken = problem ?? 'unreadable line';
        continue;
      }
      checkedFrom = Math.min(checkedFrom, r.seq);
      if (tail.firstUncovered === null) {
        // A commit's signed record: it and every record before it were acknowledged.
        tip = { seq: r.seq, hash: r.hash, time: r.time, next: { segment: seg.firstSeq, offset: raw.end } };
        lastId = r.id;
        cutFrom = { index: i, offset: raw.end };
        cut = { lines: 0, first: '' };
      }
    }
  }

  let bytes = 0;
  let cutFile = '';
  for (let i = cutFrom.index; i < segments.length; i++) {
    const seg = segments[i];
    const from = i === cutFrom.index ? cutFrom.offset : 0;
    const size = fs.statSync(seg.file).size;
    if (size <= from) continue;
    truncateFile(seg.file, from);
    cutFile ||= seg.file;
    bytes += size - from;
  }
  const after = tip.seq > headSeq ? `the last signed commit (seq ${tip.seq}; the signed head named seq ${headSeq})` : `the signed head (seq ${headSeq})`;
  const recovered: RecoveryNote | null =
    bytes > 0
      ? {
          segment: cutFile,
          offset: cutFile === segments[cutFrom.index]?.file ? cutFrom.offset : 0,
          bytes,
          problem: `cut off ${counted(cut.lines, 'line')} after ${after}, never acknowledged; the first: ${cut.first}`,
        }
      : null;
  return { tip, lastId, recovered, checkedFrom };
}

/** What a line past the head is, for the note that says it was cut. */
function cutLineProblem(raw: RawLine, seg: Segment): string {
  const line = parseLine(raw, seg);
  if (!line.record) return line.problem ?? 'unreadable line';
  return `${recordLabel(line.record)}${typeof line.record.sig === 'string' ? '' : ', unsigned'}`;
}

function truncateFile(file: string, length: number): void {
  const fd = fs.openSync(file, fs.constants.O_RDWR);
  try {
    fs.ftruncateSync(fd, length);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
