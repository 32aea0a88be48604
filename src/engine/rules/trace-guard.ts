import { accumulatorKey } from '../accumulator-key';
import { TRACE_GUARD } from '../guards';
import type { Identity } from '../identity/identity';
import type { AccumulatorSpec, OpResult } from '../limiters/spec';
import type { Policy } from '../policy/model';
import type { ChargingRule, PlanFacts, PlannedCharge, RestoredAccumulator } from './charge';

// The recursion guard (guards.max_calls_per_trace): model calls sharing one W3C trace id. A chain
// past it is likely a loop, so waiting does not help and it is refused without a retry-after.

export class TraceGuard implements ChargingRule {
  readonly id = TRACE_GUARD;
  readonly kind = 'guard' as const;
  readonly refusal = 'trace' as const;
  private readonly spec: AccumulatorSpec;

  private constructor(
    limit: number,
    private readonly ttlMs: number,
  ) {
    this.spec = { type: 'trace', ttlMs, limit };
  }

  horizonMs(): number {
    return this.ttlMs;
  }

  /** The guard the bundle switches on, or undefined when it sets no max_calls_per_trace. */
  static compile(policy: Policy): TraceGuard | undefined {
    const limit = policy.guards.maxCallsPerTrace;
    return limit === undefined ? undefined : new TraceGuard(limit, policy.guards.traceTtlMs);
  }

  /** Adds the call's charge to its trace; a call without a trace id is not counted. */
  plan(f: PlanFacts, out: PlannedCharge[]): void {
    if (!f.trace) return;
    const key = `trace:${f.trace}`;
    out.push({ rule: this, key, storeKey: accumulatorKey(this.id, key), unit: 'requests', spec: this.spec, amount: 1, force: false });
  }

  restored(): RestoredAccumulator {
    return { spec: this.spec, unit: 'requests' };
  }

  explain(p: PlannedCharge, r: OpResult, _id: Identity, _retryMs: number | null): string {
    return `trace ${p.key.slice('trace:'.length)} has made ${r.before} model calls, the most one chain may make (guards.max_calls_per_trace = ${r.limit}); a loop or recursion is likely`;
  }
}
