import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeWriteError, LedgerError } from './errors';
import type { HeadWriter } from './head';
import type { LedgerIo } from './io';
import { DiskReserve } from './disk-reserve';
import { fsyncDir, statfsFreeBytes } from './io';
import type { AuditRecord } from '../../contracts/audit-records';
import type { JournalPosition } from './segments';
import { segmentName } from './segments';

/*
 * The write side of the journal: append-only JSONL segments, group commit, and the signed head.
 *
 * Why this form: an fsynced append of a few hundred bytes per record is the cheapest durable
 * write there is, recovery after a crash only has to look at the end of the journal, and a line
 * is human-readable evidence. Group commit: records appended while one write+fsync is in flight
 * wait and go out together in the next one, so N concurrent callers share one fsync.
 *
 * One signature and one data sync per commit. The last record of each commit is signed as it is
 * written (over the bytes the signed head signs, head.ts), and its hash commits to every record
 * before it; the commit is acknowledged (`durable` resolves) as soon as its lines, ending in that
 * signed record, are written and fdatasync'ed. The signed head is written after, off the
 * acknowledgement path, reusing the record's signature; its data sync is lazy (at most
 * HEAD_SYNC_MS later, and at drain, close and roll).
 *
 * What that keeps, crash by crash (core.ts, recoverTail, does the reading):
 * - kill -9 after the journal's sync, before the head's write: the commit is on disk with its
 *   signed record; the next open verifies that signature and adopts the commit, then rewrites
 *   the head to name it. No acknowledged record is lost.
 * - Power loss with a head that lags (its sync not done): the same, for every complete commit
 *   after the head whose signed record verifies. A commit whose write a crash cut short has no
 *   valid signed record at its end: it was never acknowledged, and open cuts it (a torn line,
 *   or whole lines no signature covers). A commit that reached the disk but whose sync had not
 *   returned is adopted though no client was told of it: a decision without its settle counts at
 *   its reserved worst case, so that errs on the safe side.
 * - Someone cutting the tail: records up to the head's seq are named by the head's signature, so
 *   cutting any of them is caught (open refuses; verify names them), as is any edit before a
 *   signed record. What a lagging head cannot catch is a cut of whole commits after it: the
 *   journal then ends at an earlier signed commit and looks complete. The head is written right
 *   after each commit, so in normal running that window is the commit being written; after a
 *   power loss it is what the head's lazy sync had not yet saved (HEAD_SYNC_MS). Witnesses
 *   (witness.ts) catch a cut of anything a head they copied named, and also catch a head rolled
 *   back with the tail, which no head in the data dir can.
 *
 * When a write fails (disk full, read-only, I/O error) the chain must stay verifiable and no
 * client may hold an id that is not on disk. So: every record not yet acknowledged is rejected
 * (the batch that failed and everything chained after it), the in-memory chain tip rolls back to
 * the last acknowledged record, the segment is truncated back to that record's end and the head
 * rewritten to name it, and new appends are refused until a retry finds the disk writable again.
 * The rejected records' seqs are reused by the next records, so the journal never has a gap. If
 * even the truncation cannot be done before a crash, the unacknowledged lines left behind carry
 * no valid commit signature at their end and are cut at the next open. Free space below the disk
 * reserve (disk-reserve.ts) counts as such a failure before anything is written: checked before
 * each batch grows the journal and once per interval while idle, and retried until space is back.
 */

/** How long the signed head may stay written but not synced (see above: what a lagging head can catch). */
export const HEAD_SYNC_MS = 1000;

/** How a line seal built ends: `sig` is the record's last property (core.ts). */
const UNSIGNED_END = ',"sig":null}\n';

export interface Pending {
  record: AuditRecord;
  line: string;
  resolve: () => void;
  reject: (err: Error) => void;
  /** No client waits on it (a settle): it may wait up to LAZY_COMMIT_MS for a commit to share. */
  lazy?: boolean;
}

/**
 * How long a lazy record waits for another to commit with. A call's settle is written after its
 * answer, and one call at a time (a coding agent) would pay a data sync for it alone; the next
 * call's decision usually comes within this and takes it along, one sync for both. A crash before
 * it is written charges the call at its reserved worst case (restore.ts), never less.
 */
export const LAZY_COMMIT_MS = 20;

/** A point in the chain: the record and where the journal continues after it. */
export interface ChainPoint {
  seq: number;
  hash: string;
  time: string | null;
  next: JournalPosition;
}

export interface JournalWriterOptions {
  io: LedgerIo;
  groupCommitMs: number;
  maxBatch: number;
  segmentBytes: number;
  retryMs: number;
  /** Free space kept on the journal's disk (0: none) and how often it is read while idle. */
  diskReserveBytes: number;
  diskCheckMs: number;
  /** Called with records once they are acknowledged, in chain order (feeds the index). */
  onDurable: (records: AuditRecord[], at: ChainPoint) => void;
  onHealth: (reason: string | null) => void;
  /** The chain tip rolls back to this point after a failed write. */
  onRollback: (to: ChainPoint) => void;
}

export interface JournalStats {
  records: number;
  batches: number;
  fsyncs: number;
}

export class JournalWriter {
  private pending: Pending[] = [];
  private acked: ChainPoint;
  private flushScheduled = false;
  private lazyTimer: NodeJS.Timeout | null = null;
  /** Lazy records are due: their wait is over, or a drain wants everything written. */
  private lazyDue = false;
  private flushing = false;
  /** The head file holds a head its data sync has not covered yet. */
  private headUnsynced = false;
  private headSyncTimer: NodeJS.Timeout | null = null;
  private failure: string | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private recovering = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  private readonly reserve: DiskReserve;
  private readonly spaceTimer: NodeJS.Timeout | null;
  readonly stats: JournalStats = { records: 0, batches: 0, fsyncs: 0 };

  constructor(
    private readonly journalDir: string,
    private segment: { firstSeq: number; fd: number },
    private writeOffset: number,
    tip: ChainPoint,
    private readonly head: HeadWriter,
    private readonly probeFile: string,
    private readonly options: JournalWriterOptions,
  ) {
    this.acked = tip;
    const io = options.io;
    this.reserve = new DiskReserve(journalDir, options.diskReserveBytes, options.diskCheckMs, (dir) => (io.freeBytes ? io.freeBytes(dir) : statfsFreeBytes(dir)));
    // Something else may fill the disk while no call comes: health turns before the next call does.
    this.spaceTimer = this.reserve.enabled ? setInterval(() => this.checkSpaceIdle(), options.diskCheckMs) : null;
    this.spaceTimer?.unref();
  }

  private checkSpaceIdle(): void {
    if (this.failure || this.stopped || this.flushing || this.flushScheduled) return;
    try {
      this.reserve.ensure(0, true);
    } catch (err) {
      this.fail(err);
    }
  }

  get failed(): string | null {
    return this.failure;
  }

  get acknowledged(): ChainPoint {
    return this.acked;
  }

  enqueue(p: Pending): void {
    this.pending.push(p);
    if (p.lazy && this.pending.every((q) => q.lazy)) this.scheduleLazyFlush();
    else this.scheduleFlush();
  }

  /** Commits lazy records LAZY_COMMIT_MS from now, unless another record comes first. */
  private scheduleLazyFlush(): void {
    if (this.flushScheduled || this.flushing || this.failure) return;
    this.flushScheduled = true;
    this.lazyTimer = setTimeout(() => {
      this.lazyTimer = null;
      this.lazyDue = true;
      void this.flush();
    }, LAZY_COMMIT_MS);
  }

  private scheduleFlush(): void {
    if (this.lazyTimer) {
      // A record a client waits on: the lazy ones go with it, now.
      clearTimeout(this.lazyTimer);
      this.lazyTimer = null;
      this.flushScheduled = false;
    }
    if (this.flushScheduled || this.flushing || this.failure) return;
    this.flushScheduled = true;
    const run = (): void => void this.flush();
    if (this.options.groupCommitMs > 0) setTimeout(run, this.options.groupCommitMs);
    else setImmediate(run);
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    this.flushing = true;
    try {
      while (this.pending.length && !this.failure && this.commitDue()) {
        if (this.writeOffset >= this.options.segmentBytes) {
          await this.syncHead();
          if (this.failure) break;
          this.roll();
        }
        const batch = this.pending.splice(0, this.options.maxBatch);
        let sig: string;
        let buf: Buffer;
        try {
          sig = this.signCommit(batch[batch.length - 1]);
          buf = Buffer.from(batch.map((p) => p.line).join(''), 'utf8');
          this.reserve.ensure(buf.length);
          await this.options.io.write(this.segment.fd, buf, this.writeOffset);
          await this.options.io.fsync(this.segment.fd);
        } catch (err) {
          this.pending.unshift(...batch);
          this.fail(err);
          break;
        }
        this.reserve.wrote(buf.length);
        this.writeOffset += buf.length;
        this.stats.batches++;
        this.stats.fsyncs++;
        // On disk, ending in its signed record: acknowledged, before the head is written.
        const last = batch[batch.length - 1].record;
        const at: ChainPoint = { seq: last.seq, hash: last.hash, time: last.time, next: { segment: this.segment.firstSeq, offset: this.writeOffset } };
        this.acked = at;
        this.stats.records += batch.length;
        try {
          this.options.onDurable(batch.map((p) => p.record), at);
        } finally {
          for (const p of batch) p.resolve();
        }
        try {
          await this.head.write({ seq: at.seq, hash: at.hash, time: at.time }, this.options.io, sig, false);
        } catch (err) {
          this.fail(err); // the commit stays acknowledged: repair() writes a head naming it
          break;
        }
        this.headUnsynced = true;
        this.headSyncTimer ??= setTimeout(() => void this.syncHead(), HEAD_SYNC_MS);
        this.headSyncTimer.unref();
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.flushing = false;
      this.notifyIdle();
    }
    if (!this.pending.length) this.lazyDue = false;
    else if (!this.failure) {
      if (this.commitDue()) this.scheduleFlush();
      else this.scheduleLazyFlush();
    }
  }

  /** Whether what is pending should be committed now: a record a client waits on, or lazy ones whose wait is over. */
  private commitDue(): boolean {
    return this.lazyDue || this.pending.some((p) => !p.lazy);
  }

  /** The lazy data sync of the head (see the top of this file). */
  private async syncHead(): Promise<void> {
    if (this.headSyncTimer) clearTimeout(this.headSyncTimer);
    this.headSyncTimer = null;
    if (!this.headUnsynced || this.failure) return;
    this.headUnsynced = false;
    try {
      await this.head.sync(this.options.io);
      this.stats.fsyncs++;
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * Signs the last record of a commit (see head.ts: the head after this commit reuses the
   * signature) and puts the signature into its line, which seal left ending in `"sig":null`.
   */
  private signCommit(p: Pending): string {
    const r = p.record;
    if (typeof r.sig === 'string') return r.sig; // signed already: a batch put back after a failure
    const sig = this.head.sign({ seq: r.seq, hash: r.hash, time: r.time });
    if (!p.line.endsWith(UNSIGNED_END)) throw new LedgerError('invalid', `record seq ${r.seq}: its line does not end in its null signature`);
    r.sig = sig;
    p.line = `${p.line.slice(0, -UNSIGNED_END.length)},"sig":"${sig}"}\n`;
    return sig;
  }

  /** Starts a new segment (everything written so far is acknowledged: flush runs one commit at a time). */
  private roll(): void {
    const firstSeq = this.acked.seq + 1;
    const file = path.join(this.journalDir, segmentName(firstSeq));
    const fd = fs.openSync(file, 'wx', 0o600);
    fsyncDir(this.journalDir); // the new file's entry must survive a power loss with its records
    fs.closeSync(this.segment.fd);
    this.segment = { firstSeq, fd };
    this.writeOffset = 0;
    this.acked = { ...this.acked, next: { segment: firstSeq, offset: 0 } };
  }

  /** Begins a fresh segment now (prune does, so no pruned record shares the active segment). */
  async rollNow(): Promise<void> {
    await this.drain(); // the head, synced, names the last record of the segment left behind
    if (this.failure) throw new LedgerError('unavailable', `the ledger cannot write: ${this.failure}`);
    if (this.writeOffset > 0) this.roll();
  }

  private notifyIdle(): void {
    if (this.flushing) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private waitIdle(): Promise<void> {
    if (!this.flushing) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Waits until everything appended so far is acknowledged or rejected, and the head is synced. */
  async drain(): Promise<void> {
    if (this.pending.length) {
      this.lazyDue = true;
      this.scheduleFlush();
    }
    while (!this.failure && (this.pending.length || this.flushing || this.flushScheduled)) {
      await (this.flushing ? this.waitIdle() : new Promise<void>((r) => setImmediate(r)));
    }
    await this.syncHead();
  }

  private fail(err: unknown): void {
    if (this.failure) return;
    this.failure = describeWriteError(err);
    this.options.onHealth(this.failure);
    void this.recover();
  }

  private async recover(): Promise<void> {
    if (this.recovering) return;
    this.recovering = true;
    await this.waitIdle();
    // Everything past the last acknowledged record is rejected; its seqs will be reused.
    const error = new LedgerError('unavailable', `the record was not written: ${this.failure ?? 'write failed'}`);
    const rejected = this.pending;
    this.pending = [];
    this.options.onRollback(this.acked);
    for (const p of rejected) p.reject(error);
    this.recovering = false;
    await this.repair();
  }

  /** Puts the disk back to the last acknowledged record and proves it writable; retries until it is. */
  private async repair(): Promise<void> {
    if (this.stopped) return;
    const io = this.options.io;
    try {
      const length = this.acked.next.segment === this.segment.firstSeq ? this.acked.next.offset : 0;
      await io.truncate(this.segment.fd, length);
      await io.fsync(this.segment.fd);
      await this.head.writeBoth({ seq: this.acked.seq, hash: this.acked.hash, time: this.acked.time }, io);
      this.headUnsynced = false;
      this.reserve.ensure(0, true);
      await this.probe();
      this.writeOffset = length;
      this.failure = null;
      this.options.onHealth(null);
      if (this.pending.length) this.scheduleFlush();
    } catch (err) {
      this.failure = describeWriteError(err);
      this.options.onHealth(this.failure);
      this.retryTimer = setTimeout(() => void this.repair(), this.options.retryMs);
      this.retryTimer.unref();
    }
  }

  /** A real write of a few KiB: truncating alone succeeds on a full disk, so it proves nothing. */
  private async probe(): Promise<void> {
    const fd = fs.openSync(this.probeFile, 'w', 0o600);
    try {
      await this.options.io.write(fd, Buffer.alloc(16 * 1024, 0x20), 0);
      await this.options.io.fsync(fd);
    } finally {
      fs.closeSync(fd);
      fs.rmSync(this.probeFile, { force: true });
    }
  }

  /** Stops retrying and rejects whatever is still waiting; the files are left as they are. */
  close(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.spaceTimer) clearInterval(this.spaceTimer);
    if (this.headSyncTimer) clearTimeout(this.headSyncTimer);
    if (this.lazyTimer) clearTimeout(this.lazyTimer);
    const error = new LedgerError('closed', 'the ledger was closed before the record was written');
    for (const p of this.pending) p.reject(error);
    this.pending = [];
    fs.closeSync(this.segment.fd);
  }
}
