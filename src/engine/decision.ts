import type { ModelCall } from '../contracts/call';
import type { ErrorDetails, RefusalKind } from '../contracts/refusal';
import type { Identity } from './identity/identity';
import type { CostUnit } from './policy/model';
import type { Hold } from './limiters/spec';

// The engine's answers: what it decided for a request and what a settlement charged.

export type Outcome = 'allow' | 'refuse' | 'downgrade';


export interface LimitState {
  readonly rule: string;
  readonly kind: 'limit' | 'budget' | 'guard';
  readonly key: string;
  readonly unit: CostUnit;
  readonly before: number;
  readonly after: number;
  readonly limit: number;
}

export interface Reserved {
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly usd: number;
}

export interface Decision {
  readonly outcome: Outcome;
  /** Shadow mode: the outcome was only recorded; the request went through. */
  readonly shadow: boolean;
  /** 200, or the refusal's status from contracts/refusal.ts. */
  readonly status: number;
  /** Why the request was refused; its HTTP status and provider error shape follow from it. */
  readonly refusal?: RefusalKind;
  readonly rule: string | null;
  readonly reason: string;
  /** The numbers a refusal's error body states in the provider's own words (a context overflow's size and limit). */
  readonly errorDetails?: ErrorDetails;
  /** Whole seconds until the refusing accumulator admits this request; absent when waiting cannot help. */
  readonly retryAfterS?: number;
  readonly identity: Identity;
  readonly call: ModelCall;
  readonly classification: readonly string[];
  readonly weight: number;
  readonly model?: string;
  readonly modelServed?: string;
  /** The output maximum to write into the request (clamped by entitlement), if it must change. */
  readonly outputCap?: number;
  readonly trace?: string;
  readonly reserved: Reserved;
  readonly limits: readonly LimitState[];
  readonly exception?: { readonly id: string; readonly reason: string };
  /** Remaining for the tightest matching accumulator of each unit, after this decision. */
  readonly remaining: { readonly requests?: number; readonly tokens?: number; readonly usd?: number; readonly tool_calls?: number };
  readonly policy: { readonly name: string; readonly hash: string };
  /** What this decision holds; settle or release it exactly once. */
  readonly hold?: Hold;
  /** The unit of each held charge, in the hold's order, so settlement can recompute each. */
  readonly units?: readonly CostUnit[];
  /** Declared tools outside the identity's list, removed from the request before it went upstream (`on_undeclared: strip`). */
  readonly strippedTools?: readonly string[];
}

/**
 * What a call used. `input_tokens` is all input, cached included, and `output_tokens` all output,
 * reasoning included (the OpenTelemetry GenAI convention); the parts a provider bills at their
 * own prices are named where it reports them.
 */
export interface Usage {
  readonly input_tokens: number;
  readonly output_tokens: number;
  /** Of the input, tokens read from the prompt cache. */
  readonly cache_read_input_tokens?: number;
  /** Of the input, tokens written to the prompt cache, both durations. */
  readonly cache_write_input_tokens?: number;
  /** Of the cache writes, those to Anthropic's 1-hour cache (priced apart from the 5-minute ones). */
  readonly cache_write_1h_input_tokens?: number;
  /** Of the output, reasoning (thinking) tokens. */
  readonly reasoning_output_tokens?: number;
  /** Tool calls the response asked for (each call once); absent when not read. */
  readonly tool_calls?: number;
  /** The name of each of those calls, in order, the first MAX_TOOL_NAMES of them. */
  readonly tool_names?: readonly string[];
}

/** How many tool-call names a usage (and the settle record) keeps; the count goes on past it. */
export const MAX_TOOL_NAMES = 64;

export interface Alert {
  readonly rule: string;
  readonly key: string;
  readonly threshold: number;
  readonly spent_usd: number;
  readonly limit_usd: number;
}

export interface Settlement {
  /** What the call cost, weighted; the real usage when known, else the reserved worst case. */
  readonly usd: number;
  readonly usage: Usage;
  readonly usageKnown: boolean;
  readonly limits: readonly LimitState[];
  readonly alerts: readonly Alert[];
}
