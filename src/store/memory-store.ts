import type { AccumulatorStore } from '../engine/store';
import type { AccumulatorSpec, ChargeOp, HeldCharge, Hold, OpResult, ReserveResult, SettleResult } from '../engine/limiters/spec';
import type { AccumulatorValue } from '../engine/limiters/state';
import { added, adjust, alertsFor, atRest, current, fits, take, usage } from '../engine/limiters/state';

/**
 * Accumulators in this process's memory. JavaScript runs one reservation to completion before the
 * next starts, so check-then-take over every charge is atomic without locks.
 */
/** Accumulators at rest are swept at most this often, or sooner once the map has doubled. */
const SWEEP_INTERVAL_MS = 10_000;
const SWEEP_MIN_GROWTH = 1024;

export class MemoryStore implements AccumulatorStore {
  /** Each accumulator with the spec it was last charged under, so a sweep can tell when it is at rest. */
  private readonly values = new Map<string, AccumulatorValue>();
  private readonly specs = new Map<string, AccumulatorSpec>();
  private lastSweep = Number.NEGATIVE_INFINITY;
  private sizeAfterSweep = 0;
  /** Holds reserved and not yet settled or released: a hold is settled once, as the Redis store's is. */
  private readonly open = new Set<string>();
  private nextHold = 1;

  reserve(ops: readonly ChargeOp[], now: number): Promise<ReserveResult> {
    return Promise.resolve(this.reserveNow(ops, now));
  }

  reserveNow(ops: readonly ChargeOp[], now: number): ReserveResult {
    this.maybeSweep(now);
    const values = ops.map((op) => this.load(op.key, op.spec, now));
    const results: OpResult[] = [];
    const failures: number[] = [];
    ops.forEach((op, i) => {
      const v = values[i]!;
      const { used, limit } = usage(op.spec, v);
      const fit = op.force ? { ok: true, retryAfterMs: 0 } : fits(op.spec, v, op.amount, now);
      if (!fit.ok) failures.push(i);
      results.push({ before: used, after: fit.ok ? used + added(op.spec, v, op.amount) : used, limit, retryAfterMs: fit.ok ? undefined : fit.retryAfterMs });
    });
    if (failures.length > 0) {
      return { ok: false, results: results.map((r) => ({ ...r, after: r.before })), failures };
    }
    const charges: HeldCharge[] = ops.map((op, i) => ({ key: op.key, spec: op.spec, amount: op.amount, slot: take(op.spec, values[i]!, op.amount, now) }));
    const id = `h${this.nextHold++}`;
    this.open.add(id);
    return { ok: true, results, hold: { id, charges } };
  }

  settle(hold: Hold, actual: readonly number[], now: number): Promise<SettleResult> {
    return Promise.resolve(this.settleNow(hold, actual, now));
  }

  settleNow(hold: Hold, actual: readonly number[], now: number): SettleResult {
    // A second settle (or a release after the settle) must not move the counters again: it
    // would refund the charge, or charge it twice.
    if (!this.open.delete(hold.id)) return { results: this.peekNow(hold.charges, now), alerts: [] };
    const results: OpResult[] = [];
    const alerts: SettleResult['alerts'][number][] = [];
    hold.charges.forEach((c, i) => {
      const v = this.load(c.key, c.spec, now);
      const before = usage(c.spec, v).used;
      const crossed = adjust(c.spec, v, c.slot, c.amount, actual[i] ?? c.amount, true);
      const after = usage(c.spec, v);
      results.push({ before, after: after.used, limit: after.limit });
      if (crossed.length > 0) alerts.push(...alertsFor(c.key, c.spec, v, crossed));
    });
    return { results, alerts };
  }

  release(hold: Hold, now: number): Promise<void> {
    this.settleNow(hold, hold.charges.map(() => 0), now);
    return Promise.resolve();
  }

  peek(items: readonly { key: string; spec: AccumulatorSpec }[], now: number): Promise<OpResult[]> {
    return Promise.resolve(this.peekNow(items, now));
  }

  peekNow(items: readonly { key: string; spec: AccumulatorSpec }[], now: number): OpResult[] {
    return items.map(({ key, spec }) => {
      const existing = this.values.get(key);
      const v = current(spec, existing ? structuredClone(existing) : undefined, now);
      const { used, limit } = usage(spec, v);
      return { before: used, after: used, limit };
    });
  }

  /** How many accumulators this store holds. */
  get size(): number {
    return this.values.size;
  }

  private load(key: string, spec: AccumulatorSpec, now: number): AccumulatorValue {
    const existing = this.values.get(key);
    const v = current(spec, existing, now);
    if (v !== existing) this.values.set(key, v);
    this.specs.set(key, spec);
    return v;
  }

  /**
   * Forgets every accumulator back at rest: a fresh one would behave the same, and without this
   * every agent name, session or trace ever seen would stay in memory.
   */
  sweep(now: number): void {
    for (const [key, existing] of this.values) {
      if (atRest(this.specs.get(key)!, existing, now)) {
        this.values.delete(key);
        this.specs.delete(key);
      }
    }
    this.lastSweep = now;
    this.sizeAfterSweep = this.values.size;
  }

  private maybeSweep(now: number): void {
    if (now - this.lastSweep >= SWEEP_INTERVAL_MS || this.values.size >= 2 * this.sizeAfterSweep + SWEEP_MIN_GROWTH) this.sweep(now);
  }
}
