import type { AccumulatorSpec } from '../limiters/spec';
import type { CostUnit, Limit, RuleException } from '../policy/model';
import { DeclaredRule } from './declared-rule';
import { amount } from './wording';

// A limit: requests, tokens or USD per token bucket or sliding window. Refused as a rate limit,
// since waiting frees it up.

export class RateLimitRule extends DeclaredRule<Limit> {
  readonly kind = 'limit' as const;
  readonly refusal = 'rate-limit' as const;

  readonly unit: CostUnit;
  override readonly skipsCacheReads: boolean;

  constructor(def: Limit, exceptions: readonly RuleException[]) {
    super(def, exceptions);
    this.unit = def.cost;
    this.skipsCacheReads = def.skipCacheReads === true;
  }

  protected specFor(x: RuleException | undefined): AccumulatorSpec {
    const l = this.def;
    if (l.algorithm === 'token-bucket') return { type: 'bucket', ratePerMs: x?.rate?.perMs ?? l.rate.perMs, burst: x?.burst ?? l.burst };
    return { type: 'window', windowMs: x?.windowMs ?? l.windowMs, limit: x?.max ?? l.limit };
  }

  /** A bucket refills from empty in burst / rate; a window forgets after its length. */
  horizonMs(): number {
    const l = this.def;
    return l.algorithm === 'token-bucket' ? l.burst / l.rate.perMs : l.windowMs;
  }

  protected describe(limit: number): string {
    const l = this.def;
    return `limit '${l.id}' (${l.algorithm === 'token-bucket' ? `${l.cost} token bucket, burst ${limit}` : `${amount(limit, l.cost)} per sliding window`})`;
  }
}
