import * as fs from 'node:fs';
import * as path from 'node:path';
import { LedgerError } from './errors';
import { HeadWriter, readHead } from './head';
import type { SignedHead } from './head';
import type { LedgerIo } from './io';
import { fsyncDir } from './io';
import type { ChainPoint, JournalStats } from './journal';
import { JournalWriter } from './journal';
import { indexRowOf } from './index-db';
import type { DecisionSummary, IndexRow, SpendDimension, SpendRow, TimeRange } from './index-db';
import type { QueryIndex } from './index-service';
import { openIndexHere } from './index-service';
import { ThreadIndex } from './index-thread';
import type { IndexThreadSpawner } from './index-thread';
import type { AuditRecord, LedgerEntry } from './records';
import { GENESIS_HASH } from './records';
import type { LedgerPaths, Segment } from './segments';
import { ledgerPaths, listSegments, readLines, parseLine, segmentName } from './segments';
import { recordBytes, sha256Hex, Signer } from './signer';

/*
 * The ledger's write side and its query index: seals each record into the hash chain (seq, prev,
 * hash, sig), writes it with group commit under the signed head, and feeds the sql.js query index
 * (index-service.ts), which the proxy keeps on a thread of its own (index-thread.ts).
 *
 * Why it is separate from Ledger (ledger.ts): sealing (canonical JSON, sha256, an Ed25519
 * signature of about 40 µs), the fdatasync and the index cost more than the rest of a proxied call
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
}

/** Where a record landed in the chain. */
export interface Sealed {
  seq: number;
  hash: string;
}

/** The events the core reports; each batch of them comes out in the order it happened. */
export interface CoreEvents {
  /** These tickets are on disk under a signed head; `sealed[i]` is where `tickets[i]` landed. */
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
  /** 'none': no query index; 'here': on the core's thread; 'thread': on a thread of its own. */
  index: 'none' | 'here' | 'thread';
}

/** What open() had to repair: a torn tail after a crash, cut off because it was never acknowledged. */
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
}

/** Questions and commands for the core, answered with a value (see CoreAnswer). */
export type CoreCall =
  | { op: 'recent'; limit: number }
  | { op: 'spend'; dimension: SpendDimension; range: TimeRange }
  | { op: 'settled'; id: string }
  | { op: 'unsettledSince'; since: string }
  | { op: 'removeThrough'; seq: number }
  | { op: 'roll' }
  | { op: 'drain' }
  | { op: 'close' };

export interface CoreAnswer {
  recent: DecisionSummary[];
  spend: SpendRow[];
  settled: boolean;
  unsettledSince: Set<string>;
  removeThrough: void;
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
    private readonly signer: Signer,
    private readonly writer: JournalWriter,
    private readonly index: QueryIndex | null,
    private readonly events: CoreEvents,
    tip: ChainPoint,
  ) {
    this.tip = { seq: tip.seq, hash: tip.hash };
  }

  /** Opens the journal in `dataDir` (whose lock the caller holds), recovering a torn tail. */
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
      await headWriter.writeBoth({ seq: 0, hash: GENESIS_HASH, time: null }, io);
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

    let core: LedgerCore | null = null;
    const writer = new JournalWriter(paths.journal, { firstSeq: last.firstSeq, fd }, size, tail.tip, headWriter, path.join(paths.root, '.probe'), {
      io,
      groupCommitMs: options.groupCommitMs,
      maxBatch: options.maxBatch,
      segmentBytes: options.segmentBytes,
      retryMs: options.retryMs,
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
    core = new LedgerCore(signer, writer, index, events, tail.tip);
    const opened: OpenedChain = { head: { seq: tail.tip.seq, hash: tail.tip.hash }, tipTime: tail.tip.time, lastId: tail.lastId, recovered: tail.recovered };
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
      const unsigned = { id: r.id, seq, time: r.time, ...r.entry, prev: this.tip.hash };
      let bytes: Buffer;
      try {
        bytes = recordBytes(unsigned);
      } catch (err) {
        this.reject(r.ticket, LedgerError.is(err) ? err : new LedgerError('invalid', String(err)));
        continue;
      }
      const record = { ...unsigned, hash: sha256Hex(bytes), sig: this.signer.sign(bytes) } as AuditRecord;
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
