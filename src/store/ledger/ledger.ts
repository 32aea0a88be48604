import * as fs from 'node:fs';
import { ensureDataDir } from '../data-dir';
import type { BackendEvents, LedgerBackend } from './backend';
import { spawnLedgerWorker, startLocalBackend, startWorkerBackend } from './backend';
import type { StartedBackend } from './backend';
import type { CoreOptions, OpenedChain, RecoveryNote, Sealed } from './core';
import { DEFAULT_DISK_CHECK_MS, DEFAULT_DISK_RESERVE_BYTES } from './disk-reserve';
import { LedgerError } from './errors';
import { IdGenerator } from './ids';
import type { LedgerIo } from './io';
import { nodeIo } from './io';
import type { JournalStats } from './journal';
import type { DecisionSummary, HourlyDimension, HourlyRow, SpendDimension, SpendRow, TimeRange, ToolActivity, ToolActivityQuery } from '../../contracts/ledger-queries';
import { DirLock } from './lock';
import { pruneJournal } from './prune';
import type { PruneResult } from './prune';
import type { RecordRange } from './reader';
import { normaliseTime, readRecords, readVerifiedRecords } from './reader';
import type { AuditRecord, DecisionRecord, LedgerEntry, SettleRecord } from '../../contracts/audit-records';
import type { LedgerPaths } from './segments';
import { ledgerPaths } from './segments';

export type { RecoveryNote, Sealed } from './core';

/*
 * The signed audit ledger, as the proxy uses it.
 *
 *   const ledger = await Ledger.open(dataDir, { clock, worker: true }); // takes the data dir lock, recovers a torn tail
 *   if (!ledger.health.ok) -> answer 503 with ledger.health.reason (fail closed)
 *   const { record, durable } = ledger.append(entry);      // id and time assigned now
 *   ...forward upstream...; await durable;                 // then send record.id (x-tollgate-decision)
 *   ledger.append({ kind: 'settle', decision: record.id, ... });
 *   for await (const { decision, settle } of ledger.replay(periodStart)) ...   // restore spend at startup
 *   await ledger.recentDecisions(50); await ledger.spendBy('user', { since });   // dashboard
 *   await ledger.close();                                  // flush, fsync, snapshot index, unlock
 *
 * append() throws LedgerError('unavailable') while health is not ok and LedgerError('closed')
 * after close(). `durable` resolves with the record's seq and hash once it is on disk with a
 * signature covering it (its commit's signed record), and rejects with LedgerError('unavailable') when the write fails (the record is
 * then not part of the chain and its seq is reused) or LedgerError('invalid') for an entry that
 * has no canonical form. The chain itself (seq, prev, hash, sig) is sealed by LedgerCore, on a
 * worker thread when `worker` is set.
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
  /** Calls are refused before free space on the journal's disk drops below this (default 64 MiB; 0: no reserve). */
  diskReserveBytes?: number;
  /** How often free space is read (default 1 s); writes in between are counted against the last reading. */
  diskCheckMs?: number;
  /** The write layer (tests inject failures); only on the caller's thread. */
  io?: LedgerIo;
  /** Keep the sql.js query index (dashboard queries, fast replay); on by default. */
  index?: boolean;
  /** Seal, write and index on a worker thread, off the thread that calls append (the proxy does). */
  worker?: boolean;
  /** Starts that worker thread (tests keep a handle on it to end it). */
  spawnWorker?: typeof spawnLedgerWorker;
  /** Told whenever health changes (the proxy logs it). */
  onHealthChange?: (health: LedgerHealth) => void;
}

export type LedgerHealth = { ok: true } | { ok: false; reason: string };

export interface ReplayItem {
  decision: DecisionRecord;
  /** The decision's settle record, or null: the call never settled, so it counts at `reserved`. */
  settle: SettleRecord | null;
}

/** A record as append() returns it: the id and time it was given, and its body. */
export type AppendedRecord<E extends LedgerEntry = LedgerEntry> = { id: string; time: string } & E;

interface Waiting {
  resolve: (sealed: Sealed) => void;
  reject: (err: Error) => void;
}

export class Ledger {
  private healthState: LedgerHealth = { ok: true };
  private closed = false;
  private lastTimeMs: number;
  private headState: Sealed;
  /** Records from this seq to the head were checked when the core opened the journal. */
  private checkedFrom: number;
  private statsState: JournalStats = { records: 0, batches: 0, fsyncs: 0 };
  private tickets = 0;
  private readonly waiting = new Map<number, Waiting>();
  /** Why the core's thread is gone, while it is. */
  private lostThread: string | null = null;
  private restarting: Promise<void> | null = null;
  /** Cuts short the wait before the next restart (close does). */
  private wakeRestart: (() => void) | null = null;

  private constructor(
    readonly dataDir: string,
    private readonly paths: LedgerPaths,
    private readonly lock: DirLock,
    private readonly options: LedgerOptions & { clock: () => number },
    private readonly ids: IdGenerator,
    private backend: LedgerBackend,
    /** Starts a new worker thread for the core; null when the core runs on this thread. */
    private readonly startWorker: (() => Promise<StartedBackend>) | null,
    opened: OpenedChain,
    /** Set when open() cut off a torn tail; the proxy logs it. */
    readonly recovered: RecoveryNote | null,
  ) {
    this.headState = opened.head;
    this.checkedFrom = opened.checkedFrom;
    this.lastTimeMs = opened.tipTime ? Date.parse(opened.tipTime) : 0;
  }

  static async open(dataDir: string, options: LedgerOptions = {}): Promise<Ledger> {
    if (options.worker && options.io) throw new LedgerError('invalid', 'an injected write layer works only on the caller\'s thread');
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
    const core: CoreOptions = {
      groupCommitMs: options.groupCommitMs ?? 0,
      maxBatch: options.maxBatch ?? 10_000,
      segmentBytes: options.segmentBytes ?? 64 * 1024 * 1024,
      snapshotEvery: options.snapshotEvery ?? 50_000,
      retryMs: options.retryMs ?? 1000,
      diskReserveBytes: options.diskReserveBytes ?? DEFAULT_DISK_RESERVE_BYTES,
      diskCheckMs: options.diskCheckMs ?? DEFAULT_DISK_CHECK_MS,
      // The proxy's ledger thread keeps the index on one more thread, so index work never delays an acknowledgement.
      index: options.index === false ? 'none' : options.worker ? 'thread' : 'here',
    };
    let ledger: Ledger | null = null;
    // Events can only arrive after open resolves: nothing is appended before.
    const events: BackendEvents = {
      acked: (tickets, sealed, head, stats) => ledger?.acknowledge(tickets, sealed, head, stats),
      rejected: (tickets, error) => ledger?.refuse(tickets, error),
      health: (reason) => ledger?.setHealth(reason),
      stopped: (reason) => ledger?.stopped(reason),
    };
    const startWorker = options.worker ? () => startWorkerBackend(dataDir, core, events, options.spawnWorker ?? spawnLedgerWorker) : null;
    const { backend, opened } = startWorker ? await startWorker() : await startLocalBackend(dataDir, core, options.io ?? nodeIo, events);
    ledger = new Ledger(dataDir, paths, lock, { clock: Date.now, ...options }, new IdGenerator(opened.lastId), backend, startWorker, opened, opened.recovered);
    return ledger;
  }

  get health(): LedgerHealth {
    return this.healthState;
  }

  /** The last acknowledged record: the last commit's signed record (the signed head follows it). */
  get head(): { seq: number; hash: string } {
    return this.headState;
  }

  get stats(): JournalStats {
    return this.statsState;
  }

  /**
   * Assigns the record's id and time now and hands it to the core to seal and write with the
   * next group commit. `durable` resolves with its place in the chain once its commit, ending in
   * a signed record, is fsynced; send the id to a client only then. `lazy`: no client waits on
   * this record (a settle), so its commit may wait a little for another record to share it.
   */
  append<E extends LedgerEntry>(entry: E, options: { lazy?: boolean } = {}): { record: AppendedRecord<E>; durable: Promise<Sealed> } {
    if (this.closed) throw new LedgerError('closed', 'the ledger is closed');
    if (!this.healthState.ok) throw new LedgerError('unavailable', `the ledger cannot write: ${this.healthState.reason}`);
    const timeMs = Math.max(this.options.clock(), this.lastTimeMs);
    this.lastTimeMs = timeMs;
    const id = this.ids.next(timeMs);
    const time = new Date(timeMs).toISOString();
    const ticket = ++this.tickets;
    const durable = new Promise<Sealed>((resolve, reject) => this.waiting.set(ticket, { resolve, reject }));
    // A caller that drops `durable` must not crash the process with an unhandled rejection.
    durable.catch(() => undefined);
    this.backend.seal(options.lazy ? { ticket, id, time, entry, lazy: true } : { ticket, id, time, entry });
    return { record: { id, time, ...entry }, durable };
  }

  /** Acknowledged records, oldest first, streamed from the journal in bounded memory. */
  records(range: RecordRange = {}): AsyncIterable<AuditRecord> {
    return readRecords(this.paths.journal, range, this.headState.seq);
  }

  /**
   * Acknowledged records from `since` (a time or seq) to the signed head, each checked against its
   * hash and the record before it as it is read; rejects with LedgerError('corrupt') naming the
   * first that fails. The proxy rebuilds its budgets from these, so an edited journal stops it.
   */
  verifiedRecords(since?: string | number): AsyncIterable<AuditRecord> {
    return readVerifiedRecords(this.dataDir, this.paths.journal, since, this.headState, this.checkedFrom);
  }

  /**
   * For restoring spend after a restart: every decision from `since` on (a time or seq), each with
   * its settle record or null. Settled decisions come out when their settle is read, so memory
   * holds only calls in flight at that point of the journal, not the whole period.
   */
  async *replay(since: string | number): AsyncIterable<ReplayItem> {
    const unsettled = typeof since === 'string' && this.options.index !== false ? await this.backend.call({ op: 'unsettledSince', since: normaliseTime(since) }) : null;
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
  isSettled(decisionId: string): Promise<boolean> {
    return this.backend.call({ op: 'settled', id: decisionId });
  }

  recentDecisions(limit = 50): Promise<DecisionSummary[]> {
    return this.backend.call({ op: 'recent', limit });
  }

  /** Spend grouped by user, `user/agent`, model served or UTC day; settled cost, else reserved. */
  spendBy(dimension: SpendDimension, range: TimeRange = {}): Promise<SpendRow[]> {
    const r: TimeRange = {};
    if (range.since !== undefined) r.since = normaliseTime(range.since);
    if (range.until !== undefined) r.until = normaliseTime(range.until);
    return this.backend.call({ op: 'spend', dimension, range: r });
  }

  /**
   * Calls, tokens and USD per identity and hour in `range` (hours wholly inside it), from the
   * detail and the hourly roll-up: what an identity's baseline is taken over.
   */
  hourly(dimension: HourlyDimension, range: Required<TimeRange>): Promise<HourlyRow[]> {
    return this.backend.call({ op: 'hourly', dimension, range: { since: normaliseTime(range.since), until: normaliseTime(range.until) } });
  }

  /**
   * Tool calls by agent, MCP server and tool on the UTC day `today` and over the days from `since`
   * on (MCP tools/calls with their refusals; per agent also the tool calls models asked for), and
   * the newest `refusals` refused MCP calls among the decisions the index holds in detail.
   */
  toolActivity(query: ToolActivityQuery): Promise<ToolActivity> {
    return this.backend.call({ op: 'tools', query: { today: query.today.slice(0, 10), since: query.since.slice(0, 10), refusals: query.refusals } });
  }

  /** Removes records older than `before`, leaving a signed checkpoint that stands for them. */
  async prune(before: string): Promise<PruneResult> {
    const cutoff = normaliseTime(before);
    await this.backend.call({ op: 'roll' });
    const result = await pruneJournal(this.paths.journal, cutoff, this.headState.seq, async (entry) => {
      const { record, durable } = this.append(entry);
      await durable;
      return record.id;
    });
    if (result.removed > 0) await this.backend.call({ op: 'removeThrough', seq: result.lastSeq });
    return result;
  }

  /** Flushes and fsyncs what is queued, snapshots the index, releases the data dir lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wakeRestart?.();
    await this.restarting;
    try {
      // A lost thread has nothing left to flush: what it acknowledged is on disk.
      await this.backend.call({ op: 'close' }).catch((err: unknown) => {
        if (this.lostThread === null) throw err;
      });
    } finally {
      await this.backend.dispose();
      const error = new LedgerError('closed', 'the ledger was closed before the record was written');
      for (const w of this.waiting.values()) w.reject(error);
      this.waiting.clear();
      this.lock.release();
    }
  }

  private acknowledge(tickets: number[], sealed: Sealed[], head: Sealed, stats: JournalStats): void {
    this.headState = head;
    this.statsState = stats;
    tickets.forEach((ticket, i) => {
      const w = this.waiting.get(ticket);
      this.waiting.delete(ticket);
      w?.resolve(sealed[i]);
    });
  }

  private refuse(tickets: number[], error: Error): void {
    for (const ticket of tickets) {
      const w = this.waiting.get(ticket);
      this.waiting.delete(ticket);
      w?.reject(error);
    }
  }

  private setHealth(reason: string | null): void {
    this.healthState = reason === null ? { ok: true } : { ok: false, reason };
    this.options.onHealthChange?.(this.healthState);
  }

  /** The core's thread died: fail closed, fail every record still waiting, and start a new one. */
  private stopped(reason: string): void {
    this.lostThread = reason;
    this.setHealth(reason);
    this.refuse([...this.waiting.keys()], new LedgerError('unavailable', reason));
    if (this.startWorker && !this.closed) this.restarting ??= this.restartWorker(this.startWorker);
  }

  /** Every retryMs until it works or the ledger closes; opening recovers what the lost thread left half written. */
  private async restartWorker(start: () => Promise<StartedBackend>): Promise<void> {
    while (!this.closed && this.lostThread !== null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.retryMs ?? 1000);
        this.wakeRestart = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeRestart = null;
      if (this.closed) break;
      try {
        const { backend, opened } = await start();
        if (this.closed) {
          await backend.call({ op: 'close' }).finally(() => backend.dispose());
          break;
        }
        await this.backend.dispose();
        this.backend = backend;
        this.headState = opened.head;
        this.checkedFrom = opened.checkedFrom;
        // The new thread may itself have gone since it opened the journal: then keep trying.
        if (backend.lost !== null) continue;
        this.lostThread = null;
        this.setHealth(null);
      } catch (err) {
        this.setHealth(`${this.lostThread}; starting it again failed: ${(err as Error).message}`);
      }
    }
    this.restarting = null;
  }
}
