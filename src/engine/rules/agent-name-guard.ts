import { accumulatorKey } from '../accumulator-key';
import { AGENT_NAME_GUARD, AGENT_NAME_WINDOW_MS } from '../guards';
import type { Identity } from '../identity/identity';
import type { AccumulatorSpec, OpResult } from '../limiters/spec';
import type { Policy } from '../policy/model';
import type { ChargingRule, PlanFacts, PlannedCharge, RestoredAccumulator } from './charge';
import { waitText } from './wording';

// The identity cap (identity.max_agents_per_user): distinct agent names a person gives within an
// hour, so rotating x-tollgate-agent cannot multiply a per-agent allowance.

export class AgentNameGuard implements ChargingRule {
  readonly id = AGENT_NAME_GUARD;
  readonly kind = 'guard' as const;
  readonly refusal = 'rate-limit' as const;

  private constructor(private readonly limit: number) {}

  /** The cap the bundle sets, or undefined when it sets no max_agents_per_user. */
  static compile(policy: Policy): AgentNameGuard | undefined {
    const limit = policy.identity.maxAgentsPerUser;
    return limit === undefined ? undefined : new AgentNameGuard(limit);
  }

  horizonMs(): number {
    return AGENT_NAME_WINDOW_MS;
  }

  /** The person's names, with `agent` as the one this call adds. */
  spec(agent: string): AccumulatorSpec {
    return { type: 'distinct', windowMs: AGENT_NAME_WINDOW_MS, limit: this.limit, member: agent };
  }

  /** Only names the caller picked count: an agent the token vouches for is one name the person was given. */
  plan(f: PlanFacts, out: PlannedCharge[]): void {
    if (!f.identity.agentAsserted) return;
    const key = `user:${f.identity.user}`;
    out.push({ rule: this, key, storeKey: accumulatorKey(this.id, key), unit: 'requests', spec: this.spec(f.identity.agent), amount: 1, force: false });
  }

  restored(agent: string): RestoredAccumulator {
    return { spec: this.spec(agent), unit: 'requests' };
  }

  explain(_p: PlannedCharge, r: OpResult, id: Identity, retryMs: number | null): string {
    return `${id.user} has used ${r.before} agent names in x-tollgate-agent within the last hour, the most identity.max_agents_per_user (${r.limit}) allows, and '${id.agent}' would be one more: reuse a name; ${waitText(retryMs)}`;
  }
}
