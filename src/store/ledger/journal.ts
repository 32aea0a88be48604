import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeWriteError, LedgerError } from './errors';
import type { HeadState, HeadWriter } from './head';
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
 * write there is, recovery after a crash only has to look at the end of the last segment, and a
 * line is human-readable evidence. Group commit: records appended while one write+fsync is in
 * flight wait and go out together in the next one, so N concurrent callers share one fsync.
 * The head write (see head.ts) for batch k runs while batch k+1 is written, so it costs little
 * throughput; a record is acknowledged (`durable` resolves) once both are on disk.
 *
 * When a write fails (disk full, read-only, I/O error) the chain must stay verifiable and no
 * client may hold an id that is not on disk. So: every record not yet acknowledged is rejected
 * (the batch that failed and everything chained after it), the in-memory chain tip rolls back to
 * the last acknowledged record, the segment is truncated back to that record's end and the head
 * rewritten to name it, and new appends are refused until a retry finds the disk writable again.
 * The rejected records' seqs are reused by the next records, so the journal never has a gap. If
 * even the truncation cannot be done before a crash, the unacknowledged lines left behind sit
 * after the signed head and are cut at the next open. Free space below the disk reserve
 * (disk-reserve.ts) counts as such a failure before anything is written: checked before each
 * batch grows the journal and once per interval while idle, and retried until space is back.
 */

/** How a line seal built ends: `sig` is the record's last property (core.ts). */
const UNSIGNED_END = ',"sig":null}\n';

export interface Pending {
  record: AuditRecord;
  line: string;
  resolve: () => void;
  reject: (err: Error) => void;
}

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
  private awaitingHead: Pending[] = [];
  private written: ChainPoint;
  /** The signature of the record at `written` (null until this process commits). */
  private writtenSig: string | null = null;
  private acked: ChainPoint;
  private flushScheduled = false;
  private flushing = false;
  private headRunning = false;
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
    this.written = tip;
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
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
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
      while (this.pending.length && !this.failure) {
        if (this.writeOffset >= this.options.segmentBytes) {
          await this.waitHeadIdle();
          if (this.failure) break;
          this.roll();
        }
        const batch = this.pending.splice(0, this.options.maxBatch);
        const sig = this.signCommit(batch[batch.length - 1]);
        const buf = Buffer.from(batch.map((p) => p.line).join(''), 'utf8');
        try {
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
        if (this.failure) {
          this.pending.unshift(...batch); // the head side failed meanwhile: this batch is rolled back too
          break;
        }
        const last = batch[batch.length - 1].record;
        this.written = { seq: last.seq, hash: last.hash, time: last.time, next: { segment: this.segment.firstSeq, offset: this.writeOffset } };
        this.writtenSig = sig;
        this.awaitingHead.push(...batch);
        this.kickHead();
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.flushing = false;
      this.notifyIdle();
    }
    if (this.pending.length && !this.failure) this.scheduleFlush();
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

  /** Starts a new segment once the current one is fully acknowledged. */
  private roll(): void {
    const firstSeq = this.written.seq + 1;
    const file = path.join(this.journalDir, segmentName(firstSeq));
    const fd = fs.openSync(file, 'wx', 0o600);
    fsyncDir(this.journalDir); // the new file's entry must survive a power loss with its records
    fs.closeSync(this.segment.fd);
    this.segment = { firstSeq, fd };
    this.writeOffset = 0;
    this.written = { ...this.written, next: { segment: firstSeq, offset: 0 } };
    this.acked = { ...this.acked, next: { segment: firstSeq, offset: 0 } };
  }

  /** Begins a fresh segment now (prune does, so no pruned record shares the active segment). */
  async rollNow(): Promise<void> {
    await this.drain();
    if (this.failure) throw new LedgerError('unavailable', `the ledger cannot write: ${this.failure}`);
    if (this.writeOffset > 0) this.roll();
  }

  private kickHead(): void {
    if (this.headRunning) return;
    this.headRunning = true;
    void this.headLoop();
  }

  private async headLoop(): Promise<void> {
    try {
      while (this.acked.seq < this.written.seq && !this.failure) {
        const target = this.written;
        const state: HeadState = { seq: target.seq, hash: target.hash, time: target.time };
        try {
          await this.head.write(state, this.options.io, this.writtenSig ?? undefined);
          this.stats.fsyncs++;
        } catch (err) {
          this.fail(err);
          break;
        }
        // Even if a journal write failed meanwhile, these records are on disk under a signed head.
        this.acked = target;
        let n = 0;
        while (n < this.awaitingHead.length && this.awaitingHead[n].record.seq <= target.seq) n++;
        const done = this.awaitingHead.splice(0, n);
        this.stats.records += done.length;
        try {
          this.options.onDurable(done.map((p) => p.record), target);
        } finally {
          for (const p of done) p.resolve();
        }
      }
    } finally {
      this.headRunning = false;
      this.notifyIdle();
    }
  }

  private notifyIdle(): void {
    if (this.flushing || this.headRunning) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private waitHeadIdle(): Promise<void> {
    if (!this.headRunning) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.headRunning) setImmediate(check);
        else resolve();
      };
      check();
    });
  }

  private waitIdle(): Promise<void> {
    if (!this.flushing && !this.headRunning) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Waits until everything appended so far is acknowledged or rejected. */
  async drain(): Promise<void> {
    while (!this.failure && (this.pending.length || this.awaitingHead.length || this.flushing || this.headRunning || this.flushScheduled)) {
      await (this.flushing || this.headRunning ? this.waitIdle() : new Promise<void>((r) => setImmediate(r)));
    }
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
    const rejected = [...this.awaitingHead, ...this.pending];
    this.awaitingHead = [];
    this.pending = [];
    this.written = this.acked;
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
    const error = new LedgerError('closed', 'the ledger was closed before the record was written');
    for (const p of [...this.awaitingHead, ...this.pending]) p.reject(error);
    this.awaitingHead = [];
    this.pending = [];
    fs.closeSync(this.segment.fd);
  }
}
