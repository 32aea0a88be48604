import type { Decision, Settlement } from '../../engine/decision';
import type { Identity } from '../../engine/identity/identity';
import type { DecisionSummary } from '../../contracts/ledger-queries';
import type { AppendedRecord } from './ledger';
import type { DecisionBody, PolicyRef, SettleBody } from '../../contracts/audit-records';
import { roundUsd } from '../../contracts/audit-records';

// Turns the engine's answers into ledger records (the export contract) and the views' summaries.

export function decisionBody(d: Decision, status: number, outcome: DecisionBody['outcome'] = d.outcome): DecisionBody {
  return {
    kind: 'decision',
    outcome,
    shadow: d.shadow,
    status,
    identity: { user: d.identity.user, agent: d.identity.agent, session: d.identity.session, roles: [...d.identity.roles] },
    classification: [...d.classification],
    provider: d.call.provider,
    route: d.call.route,
    model: d.call.model ?? '',
    model_served: d.modelServed ?? null,
    trace: d.trace ?? null,
    rule: d.rule,
    reason: d.reason,
    exception: d.exception ? { id: d.exception.id, reason: d.exception.reason } : null,
    reserved: { input_tokens: d.reserved.input_tokens, output_tokens: d.reserved.output_tokens, usd: d.reserved.usd },
    // Accumulators add floats (dollars, a refilling bucket's fractions): recorded to 1e-9, as usd is, without the noise in the last bits.
    limits: d.limits.map((l) => ({ rule: l.rule, key: l.key, before: roundUsd(l.before), after: roundUsd(l.after), limit: l.limit })),
    policy: { name: d.policy.name, hash: d.policy.hash },
    tool: d.call.tool ?? null,
    arguments_sha256: null,
    arguments: null,
    tools_stripped: d.strippedTools ? [...d.strippedTools] : null,
    approval: null,
  };
}

/** A decision whose call never went out: its hold was released, so the record holds nothing either. */
export function releasedBody(d: Decision, status: number): DecisionBody {
  const body = decisionBody(d, status, 'error');
  body.reserved = { input_tokens: 0, output_tokens: 0, usd: 0 };
  body.limits = body.limits.map((l) => ({ ...l, after: l.before }));
  return body;
}

/** A request answered before any decision could be made: unverified, malformed, unroutable. */
export function errorBody(o: {
  status: number;
  reason: string;
  provider: string;
  route: string;
  identity?: Identity;
  model?: string;
  rule?: string | null;
  policy: PolicyRef;
  shadow: boolean;
}): DecisionBody {
  return {
    kind: 'decision',
    outcome: o.status === 401 ? 'refuse' : 'error',
    shadow: o.shadow,
    status: o.status,
    identity: o.identity
      ? { user: o.identity.user, agent: o.identity.agent, session: o.identity.session, roles: [...o.identity.roles] }
      : { user: '(unverified)', agent: '(unverified)', session: null, roles: [] },
    classification: [],
    provider: o.provider,
    route: o.route,
    model: o.model ?? '',
    model_served: null,
    trace: null,
    rule: o.rule ?? null,
    reason: o.reason,
    exception: null,
    reserved: { input_tokens: 0, output_tokens: 0, usd: 0 },
    limits: [],
    policy: o.policy,
    tool: null,
    arguments_sha256: null,
    arguments: null,
    tools_stripped: null,
    approval: null,
  };
}

/** The settle record's usage: the totals, and each billed part the provider reported. */
function settledUsage(s: Settlement): SettleBody['usage'] {
  const u = s.usage;
  if (!s.usageKnown) return { input_tokens: null, output_tokens: null };
  return {
    input_tokens: u.input_tokens, output_tokens: u.output_tokens,
    ...(u.cache_read_input_tokens !== undefined ? { cache_read_input_tokens: u.cache_read_input_tokens } : {}),
    ...(u.cache_write_input_tokens !== undefined ? { cache_write_input_tokens: u.cache_write_input_tokens } : {}),
    ...(u.reasoning_output_tokens !== undefined ? { reasoning_output_tokens: u.reasoning_output_tokens } : {}),
  };
}

export function settleBody(decisionId: string, s: Settlement | undefined, status: number, aborted: boolean): SettleBody {
  return {
    kind: 'settle',
    decision: decisionId,
    usage: s ? settledUsage(s) : { input_tokens: 0, output_tokens: 0 },
    usd: s ? s.usd : 0,
    status,
    aborted,
    duration_ms: null,
    is_error: null,
    tool_calls: s ? (s.usageKnown ? (s.usage.tool_calls ?? 0) : null) : 0,
    tool_names: s?.usageKnown ? [...(s.usage.tool_names ?? [])] : [],
  };
}

/** The dashboard's line for a decision: the record as appended and the seq it was sealed at. */
export function summaryOf(r: AppendedRecord<DecisionBody>, seq: number, settle?: { usd: number }): DecisionSummary {
  return {
    id: r.id, seq, time: r.time, user: r.identity.user, agent: r.identity.agent, model: r.model, model_served: r.model_served,
    provider: r.provider, route: r.route, outcome: r.outcome, status: r.status, rule: r.rule, shadow: r.shadow, settled: settle !== undefined,
    usd: settle ? settle.usd : r.reserved.usd,
  };
}
