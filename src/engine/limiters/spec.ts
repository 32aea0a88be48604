// What one accumulator is, independent of where its state lives. The engine builds these from
// the policy (with any exception applied); a store keeps the state and applies them atomically.

export type AccumulatorSpec =
  | { readonly type: 'bucket'; readonly ratePerMs: number; readonly burst: number }
  | { readonly type: 'window'; readonly windowMs: number; readonly limit: number }
  | { readonly type: 'calendar'; readonly unit: 'day' | 'week' | 'month'; readonly limit: number; readonly alertAt: readonly number[] }
  | { readonly type: 'rolling'; readonly windowMs: number; readonly limit: number; readonly alertAt: readonly number[] }
  | { readonly type: 'trace'; readonly ttlMs: number; readonly limit: number }
  /**
   * Distinct names seen in a sliding window (agents per person): a charge adds `member`, which
   * fits when it is already counted or when fewer than `limit` names are.
   */
  | { readonly type: 'distinct'; readonly windowMs: number; readonly limit: number; readonly member: string };

/** One deduction from one accumulator, part of a decision's all-or-nothing set. */
export interface ChargeOp {
  /** The accumulator's store key, an AccumulatorKey (accumulator-key.ts) when the engine builds it. */
  readonly key: string;
  readonly spec: AccumulatorSpec;
  readonly amount: number;
  /** Charge even past the limit: a downgraded request still spends against its downgrade budget, and shadow mode refuses nothing. */
  readonly force?: boolean;
}

/** An accumulator's use before and after an operation, in the accumulator's own unit. */
export interface AccumulatorState {
  readonly used: number;
  readonly limit: number;
}

export interface OpResult {
  readonly before: number;
  readonly after: number;
  readonly limit: number;
  /** When refused: ms until this accumulator would admit the amount, or null when waiting cannot help. */
  readonly retryAfterMs?: number | null;
}

/** What was taken from one accumulator, so settle and release can adjust exactly that. */
export interface HeldCharge {
  readonly key: string;
  readonly spec: AccumulatorSpec;
  readonly amount: number;
  /** The time slot the charge went into (windows) or the period it belongs to (budgets). */
  readonly slot: number;
}

export interface Hold {
  readonly id: string;
  readonly charges: readonly HeldCharge[];
}

export type ReserveResult =
  | { readonly ok: true; readonly results: readonly OpResult[]; readonly hold: Hold }
  | { readonly ok: false; readonly results: readonly OpResult[]; readonly failures: readonly number[] };

export interface AlertCrossing {
  readonly key: string;
  readonly threshold: number;
  readonly used: number;
  readonly limit: number;
}

export interface SettleResult {
  readonly results: readonly OpResult[];
  readonly alerts: readonly AlertCrossing[];
}
