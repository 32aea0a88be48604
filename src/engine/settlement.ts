import type { Usage } from './decision';
import type { CostUnit } from './policy/model';

// What a call really cost each accumulator it held, the one rule both a live settle and a replay
// of the ledger apply: a request counts as held, tokens as used, USD as the call's real price.

export interface HeldAmount {
  readonly unit: CostUnit;
  readonly amount: number;
  /** A token accumulator that leaves cache reads out (`cache_reads: skip`). */
  readonly skipsCacheReads?: boolean;
}

/**
 * The actual charge for each held amount, in order. Unknown usage is not zero: its tokens stay at
 * what was held (the reserved worst case). `countsTokens` is false for a call that only counts
 * tokens, which the provider does not bill. Tokens are all input, cache reads included, unless the
 * accumulator skips cache reads.
 */
export function settledAmounts(held: readonly HeldAmount[], usage: Usage | undefined, weight: number, usd: number, countsTokens = true): number[] {
  const tokens = usage === undefined ? undefined : countsTokens ? (usage.input_tokens + usage.output_tokens) * weight : 0;
  const cacheReads = usage === undefined || !countsTokens ? 0 : Math.min(usage.input_tokens, usage.cache_read_input_tokens ?? 0) * weight;
  return held.map((h) => {
    if (h.unit === 'requests') return h.amount;
    if (h.unit === 'usd') return usd;
    if (tokens === undefined) return h.amount;
    return h.skipsCacheReads ? tokens - cacheReads : tokens;
  });
}
