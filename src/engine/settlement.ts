import type { Usage } from './decision';
import type { CostUnit } from './policy/model';

// What a call really cost each accumulator it held, the one rule both a live settle and a replay
// of the ledger apply: a request counts as held, tokens as used, USD as the call's real price.

export interface HeldAmount {
  readonly unit: CostUnit;
  readonly amount: number;
}

/**
 * The actual charge for each held amount, in order. Unknown usage is not zero: its tokens stay at
 * what was held (the reserved worst case). `countsTokens` is false for a call that only counts
 * tokens, which the provider does not bill.
 */
export function settledAmounts(held: readonly HeldAmount[], usage: Usage | undefined, weight: number, usd: number, countsTokens = true): number[] {
  const tokens = usage === undefined ? undefined : countsTokens ? (usage.input_tokens + usage.output_tokens) * weight : 0;
  return held.map((h) => (h.unit === 'requests' ? h.amount : h.unit === 'tokens' ? (tokens ?? h.amount) : usd));
}
