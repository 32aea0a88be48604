import type { Identity } from '../identity/identity';
import type { AccumulatorSpec } from '../limiters/spec';
import type { AccumulatorValue } from '../limiters/state';
import { atRest, current, take, usage } from '../limiters/state';
import type { DivergenceConfig } from '../policy/model';
import type { Amounts, Baseline } from './baseline';
import { divergenceOf, MEASURES, NO_BASELINE } from './baseline';
import type { Suspension, WatchedIdentity } from './suspension';
import { suspensionOf, watchedIdentities } from './suspension';

/** Where a watch reads each identity's baseline (kept by whoever reads history: the ledger, a replay). */
export type BaselineSource = (key: string) => Baseline | undefined;

interface Recent {
  readonly who: WatchedIdentity;
  readonly values: Record<keyof Amounts, AccumulatorValue | undefined>;
  /** Tripped once: it says so once, until it is forgotten (resumed). */
  tripped: boolean;
}

/**
 * The recent side of guards.divergence: a sliding window per watched identity and measure (the
 * limiters' own window state), checked against the identity's baseline each time it grows. Pure:
 * time is an argument, and the baseline comes from outside, computed off the request path.
 */
export class DivergenceWatch {
  private readonly recent = new Map<string, Recent>();
  private readonly spec: AccumulatorSpec;
  private sweeps = 0;

  constructor(
    readonly config: DivergenceConfig,
    private readonly baselineOf: BaselineSource,
  ) {
    this.spec = { type: 'window', windowMs: config.windowMs, limit: Number.POSITIVE_INFINITY };
  }

  /**
   * Counts what a call did for each identity the guard watches; returns a suspension for each
   * identity this pushed past its threshold (each identity once, until forgotten). With `judge`
   * false it only counts (its baselines are not known yet).
   */
  count(identity: Identity, amounts: Amounts, now: number, judge = true): Suspension[] {
    const out: Suspension[] = [];
    if (++this.sweeps % 1024 === 0) this.sweep(now);
    for (const who of watchedIdentities(identity, this.config.per)) {
      let r = this.recent.get(who.key);
      if (!r) {
        r = { who, values: { calls: undefined, tokens: undefined, usd: undefined }, tripped: false };
        this.recent.set(who.key, r);
      }
      const totals: Record<keyof Amounts, number> = { calls: 0, tokens: 0, usd: 0 };
      for (const m of MEASURES) {
        const v = (r.values[m] = current(this.spec, r.values[m], now));
        if (amounts[m] > 0) take(this.spec, v, amounts[m], now);
        totals[m] = usage(this.spec, v).used;
      }
      if (r.tripped || !judge) continue;
      const d = divergenceOf(this.config, this.baselineOf(who.key) ?? NO_BASELINE, totals);
      if (d) {
        r.tripped = true;
        out.push(suspensionOf(who, d, now));
      }
    }
    return out;
  }

  /** What the window holds for an identity key now. */
  windowOf(key: string, now: number): Amounts {
    const r = this.recent.get(key);
    const totals: Record<keyof Amounts, number> = { calls: 0, tokens: 0, usd: 0 };
    if (!r) return totals;
    for (const m of MEASURES) totals[m] = r.values[m] ? usage(this.spec, current(this.spec, r.values[m], now)).used : 0;
    return totals;
  }

  /** A resumed identity starts again from an empty window: the burst it was suspended for is not held against it twice. */
  forget(key: string): void {
    this.recent.delete(key);
  }

  /** Drops the windows that have emptied, so identities that come and go do not grow the watch. */
  private sweep(now: number): void {
    for (const [key, r] of this.recent) {
      if (r.tripped) continue;
      if (MEASURES.every((m) => r.values[m] === undefined || atRest(this.spec, r.values[m], now))) this.recent.delete(key);
    }
  }
}
