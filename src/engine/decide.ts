import type { ModelCall } from '../contracts/call';
import { refusalAnswer } from '../contracts/refusal';
import type { RefusalKind } from '../contracts/refusal';
import { parseAccumulatorKey } from './accumulator-key';
import { classifyDetected, detect, detectorsOf } from './classify';
import type { DetectorName } from './classify';
import type { Alert, Decision, LimitState, Outcome, Reserved, Settlement, Usage } from './decision';
import { AGENT_NAME_GUARD, GuardIdTakenError, isGuardId, TOKEN_SCOPE_GUARD, TRACE_GUARD } from './guards';
import type { Identity } from './identity/identity';
import type { ChargeOp, OpResult, ReserveResult } from './limiters/spec';
import type { Policy, Rule, RuleException } from './policy/model';
import { priceOf, usdFor } from './pricing';
import { roundUsd } from '../contracts/audit-records';
import { AgentNameGuard } from './rules/agent-name-guard';
import { BudgetRule, downgradeFor, downgradeRule } from './rules/budget';
import type { Cost, PlanFacts, PlannedCharge, RestoredAccumulator } from './rules/charge';
import { checkContextCap } from './rules/context-cap';
import type { DeclaredRule } from './rules/declared-rule';
import { EntitlementRule } from './rules/entitlement';
import { RateLimitRule } from './rules/rate-limit';
import type { CheckRefusal } from './rules/refusal';
import { checkTokenScope, TokenCapGuard } from './rules/token-scope';
import { checkToolEntitlement, ToolEntitlementRule } from './rules/tool-entitlement';
import type { ToolCheck } from './rules/tool-entitlement';
import { TraceGuard } from './rules/trace-guard';
import { checkUnpricedModel } from './rules/unpriced-model';
import { settledAmounts } from './settlement';
import type { AccumulatorStore } from './store';
import type { Suspension } from './divergence/suspension';
import { suspendedReason } from './divergence/suspension';

export interface DecisionRequest {
  readonly identity: Identity;
  readonly call: ModelCall;
  /** The W3C trace id from `traceparent`, when the caller sent one. */
  readonly trace?: string;
  /** Labels the caller declared; they can only add to what the detectors find. */
  readonly declaredLabels?: readonly string[];
  /**
   * The detectors that found something in the call's texts, when the caller already ran this
   * policy's detectors (`detectorsOf`) over them, off the request thread; the texts are then not
   * read again.
   */
  readonly detected?: readonly DetectorName[];
  /** Record what would happen but refuse nothing. */
  readonly shadow?: boolean;
  /** The identity's suspension (guards.divergence) in force, looked up by the caller: refused before anything else. */
  readonly suspension?: Suspension;
}

/**
 * The tool calls a call holds: those it makes itself when known (an MCP call), else room for one
 * when it declares tools to a model (what the response asks for is charged at settle).
 */
function toolCallsHeld(call: ModelCall): number {
  if (call.toolCalls !== undefined) return call.toolCalls;
  return call.kind === 'generate' && call.tools !== undefined && call.tools.length > 0 ? 1 : 0;
}

function costOf(policy: Policy, call: ModelCall, model: string | undefined, outputTokens: number, weight: number): Cost {
  if (call.kind === 'count' || call.kind === 'passthrough' || call.kind === 'tool') return { requests: 1, tokens: 0, usd: 0, tool_calls: toolCallsHeld(call) };
  // The worst case: no cache hit, every input token at the uncached price.
  const usd = usdFor(model ? priceOf(policy, model, call.provider) : undefined, { input_tokens: call.inputTokens, output_tokens: outputTokens }) * weight;
  return { requests: 1, tokens: (call.inputTokens + outputTokens) * weight, usd, tool_calls: toolCallsHeld(call) };
}

/** The bundle's limits and budgets, each compiled once with its exceptions, in the bundle's order. */
function compileRules(policy: Policy): DeclaredRule<Rule>[] {
  const exceptions = new Map<string, RuleException[]>();
  for (const x of policy.exceptions) exceptions.set(x.ruleId, [...(exceptions.get(x.ruleId) ?? []), x]);
  const rules: DeclaredRule<Rule>[] = [
    ...policy.limits.map((l) => new RateLimitRule(l, exceptions.get(l.id) ?? [])),
    ...policy.budgets.map((b) => new BudgetRule(b, exceptions.get(b.id) ?? [])),
  ];
  // A rule under a guard's id would be restored from the ledger as the guard.
  for (const r of rules) if (isGuardId(r.id)) throw new GuardIdTakenError(r.id);
  return rules;
}

/**
 * Decides requests against one policy bundle: the entitlement, context-cap and price checks, then
 * every guard and rule that keeps an accumulator, reserved all at once. Pure except for the store
 * it is given: time is an argument and nothing is read from the clock, network or disk.
 */
export class Engine {
  private readonly rules: readonly DeclaredRule<Rule>[];
  private readonly ruleById: ReadonlyMap<string, DeclaredRule<Rule>>;
  private readonly traceGuard: TraceGuard | undefined;
  private readonly agentNameGuard: AgentNameGuard | undefined;
  private readonly tokenCap = new TokenCapGuard();
  private readonly entitlements: EntitlementRule;
  private readonly tools: ToolEntitlementRule;
  private readonly detectorNames: readonly DetectorName[];

  /** Throws GuardIdTakenError when a rule takes a guard's id (the loader refuses such a bundle first). */
  constructor(
    readonly policy: Policy,
    readonly store: AccumulatorStore,
  ) {
    this.rules = compileRules(policy);
    this.ruleById = new Map(this.rules.map((r) => [r.id, r]));
    this.traceGuard = TraceGuard.compile(policy);
    this.agentNameGuard = AgentNameGuard.compile(policy);
    this.entitlements = new EntitlementRule(policy);
    this.tools = new ToolEntitlementRule(policy);
    this.detectorNames = detectorsOf(policy);
  }

  /**
   * The accumulator a recorded charge belongs to under this policy (with the exception the
   * record names, while it exists), for restoring state from the ledger and for the views.
   * Undefined when the rule is gone from the bundle or the guard is switched off.
   */
  accumulatorFor(ruleId: string, exceptionId?: string | null, agent = '', limit?: number): RestoredAccumulator | undefined {
    // A guard's id is never a rule's (see compileRules), so it names the guard.
    if (ruleId === TRACE_GUARD) return this.traceGuard?.restored();
    if (ruleId === TOKEN_SCOPE_GUARD) return this.tokenCap.restored(limit);
    if (ruleId === AGENT_NAME_GUARD) return this.agentNameGuard?.restored(agent);
    return this.ruleById.get(ruleId)?.restored(exceptionId);
  }

  /**
   * The oldest time whose records still bear on an accumulator: a restore replays the ledger from
   * there. At least a day back, so a restart keeps the day's picture.
   */
  replayFrom(now: number): number {
    let back = 86_400_000;
    for (const r of [...this.rules, this.traceGuard, this.agentNameGuard, this.tokenCap]) if (r) back = Math.max(back, r.horizonMs());
    return now - back;
  }

  /** The weight a request with these labels carries under this policy. */
  weightOf(labels: readonly string[]): number {
    let w = 1;
    for (const c of this.policy.classification) if (labels.includes(c.label)) w = Math.max(w, c.weight);
    return w;
  }

  /** The accumulators a request would touch and what it would deduct from each, model `model`. */
  plan(req: DecisionRequest, model: string | undefined, outputTokens: number, labels: readonly string[], weight: number, now: number, forced: ReadonlySet<string>): PlannedCharge[] {
    const out: PlannedCharge[] = [];
    // A passthrough invokes no model; one that makes tool calls (an MCP call) still counts them.
    if (req.call.kind === 'passthrough' && !req.call.toolCalls) return out;
    const facts: PlanFacts = {
      identity: req.identity, call: req.call, model, trace: req.trace, labels, cost: costOf(this.policy, req.call, model, outputTokens, weight), now, forced,
    };
    this.traceGuard?.plan(facts, out);
    this.agentNameGuard?.plan(facts, out);
    this.tokenCap.plan(facts, out);
    for (const rule of this.rules) rule.plan(facts, out);
    return out;
  }

  async decide(asked: DecisionRequest, now: number): Promise<Decision> {
    // Declared tools outside the identity's list: refused below, or stripped here, so that
    // everything after sees the call as it goes upstream.
    // A tool call (MCP) is entitled by name in check(); only a model call's declarations are stripped.
    const toolCheck = asked.call.kind === 'passthrough' || asked.call.kind === 'tool' ? undefined : this.tools.check(asked.identity, asked.call);
    const stripped = toolCheck && 'stripped' in toolCheck ? toolCheck.stripped : undefined;
    const req = toolCheck && 'call' in toolCheck ? { ...asked, call: toolCheck.call } : asked;
    const { identity: id, call } = req;
    const policyRef = { name: this.policy.name, hash: this.policy.hash };
    const detected = req.detected ?? detect(call.texts, this.detectorNames);
    const { labels, weight } = classifyDetected(this.policy, detected, req.declaredLabels);
    // Every decision is built by this one function with every field in one order: one object
    // shape for the hot path (spreads would make each decision a slow dictionary object).
    const make = (f: Pick<Decision, 'outcome' | 'status' | 'rule' | 'reason' | 'reserved' | 'limits' | 'remaining'> & Partial<Decision>): Decision => ({
      outcome: f.outcome, shadow: req.shadow === true, status: f.status, refusal: f.refusal, rule: f.rule, reason: f.reason, errorDetails: f.errorDetails, retryAfterS: f.retryAfterS,
      identity: id, call, classification: labels, weight, model: call.model, modelServed: f.modelServed, outputCap: f.outputCap, trace: req.trace,
      reserved: f.reserved, limits: f.limits, exception: f.exception, remaining: f.remaining, policy: policyRef, hold: f.hold, units: f.units, strippedTools: stripped,
    });
    const noReserve: Reserved = { input_tokens: 0, output_tokens: 0, usd: 0 };

    // The checks no waiting helps: refused before anything is held. A shadow refusal here is
    // recorded as a refusal; the caller forwards the request anyway, uncharged, since no
    // accumulator was consulted.
    const checked = req.suspension ? suspendedRefusal(req.suspension) : this.check(id, call, labels, toolCheck);
    if (checked) {
      return make({
        outcome: 'refuse', status: refusalAnswer(checked.refusal).status, refusal: checked.refusal, rule: checked.rule, reason: checked.reason, errorDetails: checked.details,
        modelServed: req.shadow ? call.model : undefined, reserved: noReserve, limits: [], remaining: {},
      });
    }

    const output = this.entitlements.output(id, call);
    const outputTokens = output.tokens;
    const attempt = async (model: string | undefined, forced: ReadonlySet<string>): Promise<{ planned: PlannedCharge[]; result: ReserveResult }> => {
      const planned = this.plan(req, model, outputTokens, labels, weight, now, forced);
      const result = await this.store.reserve(planned.map((p): ChargeOp => ({ key: p.storeKey, spec: p.spec, amount: p.amount, force: p.force || undefined })), now);
      return { planned, result };
    };

    let model = call.model;
    let outcome: Outcome = 'allow';
    let { planned, result } = await attempt(model, new Set());
    if (!result.ok) {
      const downgrade = downgradeFor(planned, result.failures, model);
      const servable = downgrade !== undefined && (call.servedAs === undefined || Object.hasOwn(call.servedAs, downgrade.to));
      if (downgrade && servable && this.entitlements.of(id).modelAllowed(downgrade.to)) {
        if (downgrade.to !== model) outcome = 'downgrade';
        model = downgrade.to;
        ({ planned, result } = await attempt(model, downgrade.budgets));
      }
    }

    const reservedUsd = usdFor(model ? priceOf(this.policy, model, call.provider) : undefined, { input_tokens: call.inputTokens, output_tokens: outputTokens }) * weight;
    const reserved: Reserved = { input_tokens: call.inputTokens, output_tokens: outputTokens, usd: call.kind === 'generate' || call.kind === 'embed' ? roundUsd(reservedUsd) : 0 };
    const limits = planned.map((p, i) => limitState(p, result.results[i]!));
    const exception = planned.find((p) => p.exception)?.exception;
    const exceptionRef = exception ? { id: exception.id, reason: exception.reason } : undefined;

    if (!result.ok) {
      const first = planned[result.failures[0]!]!;
      const firstResult = result.results[result.failures[0]!]!;
      const waits = result.failures.map((i) => (planned[i]!.rule.waitHelps === false ? null : result.results[i]!.retryAfterMs));
      const retryMs = waits.some((w) => w === null || w === undefined) ? null : Math.max(...(waits as number[]));
      const refusal: RefusalKind = first.rule.refusal;
      const reason = first.rule.explain(first, firstResult, id, retryMs);
      const retryAfterS = retryMs === null ? undefined : Math.max(1, Math.ceil(retryMs / 1000));
      const status = refusalAnswer(refusal).status;
      if (!req.shadow) {
        return make({ outcome: 'refuse', status, refusal, rule: first.rule.id, reason, retryAfterS, reserved: noReserve, limits, exception: exceptionRef, remaining: {} });
      }
      // Shadow mode forwards the request anyway, so its spend is charged (past the limit) to keep
      // the accumulators telling the truth about what production would see.
      const forced = await this.store.reserve(planned.map((p) => ({ key: p.storeKey, spec: p.spec, amount: p.amount, force: true })), now);
      return make({
        outcome: 'refuse', status, refusal, rule: first.rule.id, reason, retryAfterS, modelServed: model, outputCap: output.cap, reserved, limits, exception: exceptionRef,
        remaining: {}, hold: forced.ok ? forced.hold : undefined, units: planned.map((p) => p.unit),
      });
    }

    const remaining: { requests?: number; tokens?: number; usd?: number; tool_calls?: number } = {};
    planned.forEach((p, i) => {
      const r = result.results[i]!;
      const left = Math.max(0, r.limit - r.after);
      if (remaining[p.unit] === undefined || left < remaining[p.unit]!) remaining[p.unit] = left;
    });
    const reason = outcome === 'downgrade'
      ? `budget exhausted for ${id.user}: ${call.model} downgraded to ${model}`
      : 'within every matching limit and budget';
    return make({
      outcome, status: 200, rule: outcome === 'downgrade' ? downgradeRule(planned) : null, reason, modelServed: model, outputCap: output.cap, reserved, limits,
      exception: exceptionRef, remaining, hold: result.hold, units: planned.map((p) => p.unit),
    });
  }

  /** Charges what the call really used and returns the rest; unknown usage is charged at the reserved worst case. */
  async settle(decision: Decision, usage: Usage | undefined, now: number): Promise<Settlement> {
    const known = usage !== undefined;
    const used: Usage = usage ?? { input_tokens: decision.reserved.input_tokens, output_tokens: decision.reserved.output_tokens };
    const price = decision.modelServed ? priceOf(this.policy, decision.modelServed, decision.call.provider) : undefined;
    const usd = decision.call.kind === 'generate' || decision.call.kind === 'embed' ? roundUsd(usdFor(price, used) * decision.weight) : 0;
    if (!decision.hold) return { usd, usage: used, usageKnown: known, limits: [], alerts: [] };
    const held = decision.hold.charges.map((c, i) => ({
      unit: decision.units?.[i] ?? 'requests', amount: c.amount, ...this.ruleById.get(decision.limits[i]?.rule ?? '')?.settling(),
    }));
    const actual = settledAmounts(held, usage, decision.weight, usd, decision.call.kind !== 'count');
    const result = await this.store.settle(decision.hold, actual, now);
    const limits = decision.limits.map((l, i) => ({ ...l, before: result.results[i]?.before ?? l.before, after: result.results[i]?.after ?? l.after }));
    const alerts: Alert[] = result.alerts.map((a) => {
      const { rule, key } = parseAccumulatorKey(a.key);
      return { rule, key, threshold: a.threshold, spent_usd: a.used, limit_usd: a.limit };
    });
    return { usd, usage: used, usageKnown: known, limits, alerts };
  }

  /** Returns everything a decision holds: the call never reached the provider. */
  async release(decision: Decision, now: number): Promise<void> {
    if (decision.hold) await this.store.release(decision.hold, now);
  }

  /**
   * The token's scope, the entitlements (route, provider, model, then declared tools), context cap
   * and price, in that order: the first that refuses answers.
   */
  private check(id: Identity, call: ModelCall, labels: readonly string[], toolCheck: ToolCheck | undefined): CheckRefusal | undefined {
    // A tool call names no model or route of a provider: the bundle's tools section governs it.
    if (call.kind === 'tool') return checkTokenScope(this.policy, id, call) ?? checkToolEntitlement(this.policy, id, call);
    return checkTokenScope(this.policy, id, call)
      ?? this.entitlements.check(id, call)
      ?? (toolCheck && 'refusal' in toolCheck ? toolCheck.refusal : undefined)
      ?? checkContextCap(id, call, this.entitlements.of(id))
      ?? checkUnpricedModel(this.policy, this.rules, id, call, labels);
  }
}

function suspendedRefusal(s: Suspension): CheckRefusal {
  return { refusal: 'suspended', rule: s.guard, reason: suspendedReason(s) };
}

function limitState(p: PlannedCharge, r: OpResult): LimitState {
  return { rule: p.rule.id, kind: p.rule.kind, key: p.key, unit: p.unit, before: r.before, after: r.after, limit: r.limit };
}
