import type { Usage } from './decision';
import { anyGlobMatch } from './glob';
import type { CostUnit } from './policy/model';

// What a call really cost each accumulator it held, the one rule both a live settle and a replay
// of the ledger apply: a request counts as held, tokens as used, USD as the call's real price.

export interface HeldAmount {
  readonly unit: CostUnit;
  readonly amount: number;
  /** A token accumulator that leaves cache reads out (`cache_reads: skip`). */
  readonly skipsCacheReads?: boolean;
  /** A tool-call accumulator counting only the calls of these tools. */
  readonly toolGlobs?: readonly string[];
}

/**
 * The tool calls a usage charges an accumulator: all of them, or those of the named tools. A
 * call whose name was not kept (past the names kept) counts, so a long loop is never free.
 */
export function toolCallsCharged(usage: Usage, globs: readonly string[] | undefined): number | undefined {
  if (usage.tool_calls === undefined) return undefined;
  if (!globs) return usage.tool_calls;
  const names = usage.tool_names ?? [];
  return names.filter((n) => anyGlobMatch(globs, n)).length + Math.max(0, usage.tool_calls - names.length);
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
    // Tool calls are known from the response: unknown ones stay at what was held.
    if (h.unit === 'tool_calls') return (usage && toolCallsCharged(usage, h.toolGlobs)) ?? h.amount;
    if (tokens === undefined) return h.amount;
    return h.skipsCacheReads ? tokens - cacheReads : tokens;
  });
}
