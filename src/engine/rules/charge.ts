import type { ModelCall } from '../../contracts/call';
import type { RefusalKind } from '../../contracts/refusal';
import type { AccumulatorKey } from '../accumulator-key';
import type { Identity } from '../identity/identity';
import type { AccumulatorSpec, OpResult } from '../limiters/spec';
import type { CostUnit, RuleException } from '../policy/model';

// What the rules that keep accumulators share: a call's facts as they plan it, and the charge
// each plans against one accumulator. The engine reserves every planned charge at once.

/** What one request deducts in each unit, computed once per decision. */
export interface Cost {
  readonly requests: number;
  readonly tokens: number;
  readonly usd: number;
  /** The tool calls it holds: those an MCP call makes, room for one on a model call declaring tools. */
  readonly tool_calls: number;
}

/** Everything a rule reads to plan a call's charges. */
export interface PlanFacts {
  readonly identity: Identity;
  readonly call: ModelCall;
  /** The model the call would be served (a downgrade changes it), undefined when none is named. */
  readonly model: string | undefined;
  readonly trace: string | undefined;
  readonly labels: readonly string[];
  readonly cost: Cost;
  readonly now: number;
  /** Budgets charged past their limit: the call was downgraded to stay within them. */
  readonly forced: ReadonlySet<string>;
}

/** A rule or guard that keeps accumulators, as a planned charge names it. */
export interface ChargingRule {
  readonly id: string;
  readonly kind: 'limit' | 'budget' | 'guard';
  /** What its refusal is, which fixes the answer's status and error shape. */
  readonly refusal: RefusalKind;
  /** The model to serve instead when exceeding this rule downgrades rather than refuses. */
  readonly downgradeTo?: string;
  /** False when no wait ever frees it (a token's lifetime cap): its refusal carries no retry-after. */
  readonly waitHelps?: boolean;
  /** How far back its accumulators reach: the ledger is replayed from that long ago. */
  horizonMs(): number;
  /** Why `charge` was refused, for the person refused: what is used, of what, and whether waiting helps. */
  explain(charge: PlannedCharge, result: OpResult, identity: Identity, retryMs: number | null): string;
}

/** One accumulator a request touches, with everything needed to charge and describe it. */
export interface PlannedCharge {
  readonly rule: ChargingRule;
  /** The identity key, as the audit record names it. */
  readonly key: string;
  readonly storeKey: AccumulatorKey;
  readonly unit: CostUnit;
  readonly spec: AccumulatorSpec;
  readonly amount: number;
  readonly exception?: RuleException;
  readonly force: boolean;
}

/** An accumulator a recorded charge belongs to, for replaying the ledger and for the views. */
export interface RestoredAccumulator {
  readonly spec: AccumulatorSpec;
  readonly unit: CostUnit;
  /** A token accumulator that leaves cache reads out of what a call used. */
  readonly skipsCacheReads?: boolean;
  /** A tool-call accumulator that counts only the calls of these tools (`when: { tool }`). */
  readonly toolGlobs?: readonly string[];
}
