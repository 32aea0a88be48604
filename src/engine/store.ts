import type { AccumulatorSpec, ChargeOp, Hold, OpResult, ReserveResult, SettleResult } from './limiters/spec';
import type { Policy } from './policy/model';

/**
 * Where accumulator state lives. The engine builds the charges; a store applies a decision's
 * charges atomically: all of them or none. The memory store is the default, a Redis store serves
 * several proxies; the engine never knows which.
 */
export interface AccumulatorStore {
  /** Takes every charge if every one fits (forced charges always fit); otherwise takes nothing. */
  reserve(ops: readonly ChargeOp[], now: number): Promise<ReserveResult>;
  /** Replaces each held charge with its real amount, in the hold's order. */
  settle(hold: Hold, actual: readonly number[], now: number): Promise<SettleResult>;
  /** Returns a hold's charges untaken (the call failed before the provider did any work). */
  release(hold: Hold, now: number): Promise<void>;
  /** Reads accumulators without changing them, for views and previews. */
  peek(items: readonly { key: string; spec: AccumulatorSpec }[], now: number): Promise<OpResult[]>;
  /** A new bundle is in force: a store takes from it what concerns the store (team mode's outage rule). */
  applyPolicy?(policy: Policy): void;
  /** Whether a hold was taken from a local fallback because the shared store was unreachable. */
  isLocalHold?(hold: Hold): boolean;
}
