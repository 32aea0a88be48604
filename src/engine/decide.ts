import type { ModelCall } from '../contracts/call';
import { refusalAnswer } from '../contracts/refusal';
import type { RefusalKind } from '../contracts/refusal';
import { accumulatorKey, parseAccumulatorKey } from './accumulator-key';
import type { AccumulatorKey } from './accumulator-key';
import { classifyDetected, detect, detectorsOf } from './classify';
import type { DetectorName } from './classify';
import type { Alert, Decision, LimitState, Outcome, Reserved, Settlement, Usage } from './decision';
import { entitlementFor } from './entitlements';
import type { EffectiveEntitlement } from './entitlements';
import { globMatch } from './glob';
import { AGENT_NAME_GUARD, AGENT_NAME_WINDOW_MS, TRACE_GUARD } from './guards';
import type { Identity } from './identity/identity';
import type { AccumulatorSpec, ChargeOp, OpResult } from './limiters/spec';
import type { Budget, CostUnit, Limit, Policy, Rule, RuleException } from './policy/model';
import { priceOf, usdFor } from './pricing';
import type { AccumulatorStore } from './store';

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
}

/** One accumulator a request touches, with everything needed to charge and describe it. */
interface PlannedCharge {
  readonly rule: Rule | { readonly kind: 'guard'; readonly id: string };
  /** The identity key, as the audit record names it. */
  readonly key: string;
  /** The store's key: rule id and identity key. */
  readonly storeKey: AccumulatorKey;
  readonly unit: CostUnit;
  readonly spec: AccumulatorSpec;
  readonly amount: number;
  readonly exception?: RuleException;
  readonly force: boolean;
}

function ruleMatchesIdentity(rule: Rule, id: Identity): boolean {
  const m = rule.match;
  if (!m) return true;
  if (m.role && !m.role.some((r) => id.roles.includes(r))) return false;
  if (m.user && !m.user.some((u) => globMatch(u, id.user))) return false;
  if (m.agent && !m.agent.some((a) => globMatch(a, id.agent))) return false;
  if (m.tenant && (!id.tenant || !m.tenant.includes(id.tenant))) return false;
  return true;
}

function ruleMatchesRequest(rule: Rule, call: ModelCall, model: string | undefined, labels: readonly string[]): boolean {
  const w = rule.when;
  if (!w) return true;
  if (w.classification && !w.classification.some((c) => labels.includes(c))) return false;
  if (w.model && (!model || !w.model.some((g) => globMatch(g, model)))) return false;
  if (w.provider && !w.provider.includes(call.provider)) return false;
  if (w.route && !w.route.some((g) => globMatch(g, call.route))) return false;
  return true;
}

/** The identity keys a rule accumulates against: the product of its dimensions' values. */
export function keysFor(rule: Rule, id: Identity, labels: readonly string[]): string[] {
  let keys: string[] = [''];
  for (const dim of rule.per) {
    let values: string[] = [];
    switch (dim) {
      case 'user':
        values = [id.user];
        break;
      case 'agent':
        values = [`${id.user}/${id.agent}`];
        break;
      case 'session':
        values = [id.session];
        break;
      case 'tenant':
        values = id.tenant ? [id.tenant] : [];
        break;
      case 'role':
        values = id.roles.filter((r) => !rule.match?.role || rule.match.role.includes(r));
        break;
      case 'classification':
        values = labels.filter((l) => !rule.when?.classification || rule.when.classification.includes(l));
        break;
    }
    const next: string[] = [];
    for (const k of keys) for (const v of values) next.push(k ? `${k},${dim}:${v}` : `${dim}:${v}`);
    keys = next;
  }
  return keys;
}

function agentNameSpec(limit: number, agent: string): AccumulatorSpec {
  return { type: 'distinct', windowMs: AGENT_NAME_WINDOW_MS, limit, member: agent };
}

function specFor(rule: Limit | Budget, x: RuleException | undefined): AccumulatorSpec {
  if (rule.kind === 'budget') {
    const limit = x?.limitUsd ?? rule.limitUsd;
    return rule.period.type === 'calendar'
      ? { type: 'calendar', unit: rule.period.unit, limit, alertAt: rule.alertAt }
      : { type: 'rolling', windowMs: rule.period.ms, limit, alertAt: rule.alertAt };
  }
  if (rule.algorithm === 'token-bucket') return { type: 'bucket', ratePerMs: x?.rate?.perMs ?? rule.rate.perMs, burst: x?.burst ?? rule.burst };
  return { type: 'window', windowMs: x?.windowMs ?? rule.windowMs, limit: x?.max ?? rule.limit };
}

/** What one request deducts in each unit, computed once per decision. */
interface Cost {
  readonly requests: number;
  readonly tokens: number;
  readonly usd: number;
}

function costOf(policy: Policy, call: ModelCall, model: string | undefined, outputTokens: number, weight: number): Cost {
  if (call.kind === 'count' || call.kind === 'passthrough') return { requests: 1, tokens: 0, usd: 0 };
  const usd = usdFor(model ? priceOf(policy, model) : undefined, call.inputTokens, outputTokens) * weight;
  return { requests: 1, tokens: (call.inputTokens + outputTokens) * weight, usd };
}

function fmt(n: number, unit: CostUnit): string {
  if (unit === 'usd') return `$${n.toFixed(n < 1 ? 4 : 2)}`;
  return `${Math.round(n * 100) / 100} ${unit === 'requests' ? 'requests' : 'tokens'}`;
}

function waitText(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return 'waiting will not help: this request alone is larger than the limit';
  const s = Math.max(1, Math.ceil(ms / 1000));
  if (s < 120) return `it frees up in ${s}s`;
  if (s < 7200) return `it frees up in ${Math.ceil(s / 60)} min`;
  return `it frees up in ${Math.ceil(s / 3600)} h`;
}

/**
 * Decides requests against one policy bundle. Pure except for the store it is given: time is an
 * argument and nothing is read from the clock, network or disk.
 */
export class Engine {
  private readonly rules: readonly (Limit | Budget)[];
  /** Each rule's accumulator without an exception: built once, not per request. */
  private readonly baseSpecs = new Map<string, AccumulatorSpec>();
  private readonly ruleExceptions = new Map<string, RuleException[]>();
  /** Entitlements and identity keys depend only on the identity, which repeats across requests. */
  private readonly entitlements = new Map<string, EffectiveEntitlement>();
  private readonly identityKeys = new WeakMap<Identity, Map<string, { key: string; storeKey: AccumulatorKey }[]>>();
  private readonly identityEntitlements = new WeakMap<Identity, EffectiveEntitlement>();
  private readonly detectorNames: readonly DetectorName[];

  constructor(
    readonly policy: Policy,
    readonly store: AccumulatorStore,
  ) {
    this.rules = [...policy.limits, ...policy.budgets];
    for (const rule of this.rules) this.baseSpecs.set(rule.id, specFor(rule, undefined));
    for (const x of policy.exceptions) this.ruleExceptions.set(x.ruleId, [...(this.ruleExceptions.get(x.ruleId) ?? []), x]);
    this.detectorNames = detectorsOf(policy);
  }

  /**
   * The accumulator a recorded charge belongs to under this policy (with the exception the
   * record names, while it exists), for restoring state from the ledger. Undefined when the rule
   * is gone from the bundle.
   */
  accumulatorFor(ruleId: string, exceptionId?: string | null, agent = ''): { spec: AccumulatorSpec; unit: CostUnit } | undefined {
    if (ruleId === TRACE_GUARD) {
      const limit = this.policy.guards.maxCallsPerTrace;
      return limit === undefined ? undefined : { spec: { type: 'trace', ttlMs: this.policy.guards.traceTtlMs, limit }, unit: 'requests' };
    }
    if (ruleId === AGENT_NAME_GUARD) {
      const limit = this.policy.identity.maxAgentsPerUser;
      return limit === undefined ? undefined : { spec: agentNameSpec(limit, agent), unit: 'requests' };
    }
    const rule = this.rules.find((r) => r.id === ruleId);
    if (!rule) return undefined;
    const x = exceptionId ? this.policy.exceptions.find((e) => e.id === exceptionId && e.ruleId === ruleId) : undefined;
    return { spec: x ? specFor(rule, x) : this.baseSpecs.get(rule.id)!, unit: rule.kind === 'budget' ? 'usd' : rule.cost };
  }

  /** The weight a request with these labels carries under this policy. */
  weightOf(labels: readonly string[]): number {
    let w = 1;
    for (const c of this.policy.classification) if (labels.includes(c.label)) w = Math.max(w, c.weight);
    return w;
  }

  private entitlementOf(id: Identity): EffectiveEntitlement {
    let e = this.identityEntitlements.get(id);
    if (e) return e;
    const key = `${id.user}\n${id.roles.join('\n')}`;
    e = this.entitlements.get(key);
    if (!e) {
      if (this.entitlements.size >= 10_000) this.entitlements.clear();
      e = entitlementFor(this.policy, id);
      this.entitlements.set(key, e);
    }
    this.identityEntitlements.set(id, e);
    return e;
  }

  /** Store keys of a rule for an identity; cached unless they depend on the request's labels. */
  private storeKeys(rule: Limit | Budget, id: Identity, labels: readonly string[]): { key: string; storeKey: AccumulatorKey }[] {
    const build = (): { key: string; storeKey: AccumulatorKey }[] => keysFor(rule, id, labels).map((key) => ({ key, storeKey: accumulatorKey(rule.id, key) }));
    if (rule.per.includes('classification')) return build();
    let byRule = this.identityKeys.get(id);
    if (!byRule) {
      byRule = new Map();
      this.identityKeys.set(id, byRule);
    }
    let keys = byRule.get(rule.id);
    if (!keys) {
      keys = build();
      byRule.set(rule.id, keys);
    }
    return keys;
  }

  private exceptionFor(rule: Rule, id: Identity, now: number): RuleException | undefined {
    const candidates = this.ruleExceptions.get(rule.id);
    if (!candidates) return undefined;
    return candidates.find(
      (x) =>
        now < x.expiresAt &&
        (!x.identity.user || globMatch(x.identity.user, id.user)) &&
        (!x.identity.agent || (!id.agentAsserted && globMatch(x.identity.agent, id.agent))) &&
        (!x.identity.role || id.roles.includes(x.identity.role)),
    );
  }

  /** The accumulators a request would touch and what it would deduct from each, model `model`. */
  plan(req: DecisionRequest, model: string | undefined, outputTokens: number, labels: readonly string[], weight: number, now: number, forceBudgets: ReadonlySet<string>): PlannedCharge[] {
    const { identity: id, call } = req;
    const cost = costOf(this.policy, call, model, outputTokens, weight);
    const out: PlannedCharge[] = [];
    if (call.kind === 'passthrough') return out;
    const guard = this.policy.guards.maxCallsPerTrace;
    if (guard !== undefined && req.trace) {
      out.push({
        rule: { kind: 'guard', id: TRACE_GUARD }, key: `trace:${req.trace}`, storeKey: accumulatorKey(TRACE_GUARD, `trace:${req.trace}`), unit: 'requests',
        spec: { type: 'trace', ttlMs: this.policy.guards.traceTtlMs, limit: guard }, amount: 1, force: false,
      });
    }
    // Only names the caller picked count: an agent the token vouches for is one name the person was given.
    const agents = this.policy.identity.maxAgentsPerUser;
    if (agents !== undefined && id.agentAsserted) {
      out.push({
        rule: { kind: 'guard', id: AGENT_NAME_GUARD }, key: `user:${id.user}`, storeKey: accumulatorKey(AGENT_NAME_GUARD, `user:${id.user}`), unit: 'requests',
        spec: agentNameSpec(agents, id.agent), amount: 1, force: false,
      });
    }
    for (const rule of this.rules) {
      if (!ruleMatchesIdentity(rule, id) || !ruleMatchesRequest(rule, call, model, labels)) continue;
      const unit: CostUnit = rule.kind === 'budget' ? 'usd' : rule.cost;
      const x = this.exceptionFor(rule, id, now);
      const spec = x ? specFor(rule, x) : this.baseSpecs.get(rule.id)!;
      const amount = cost[unit];
      const force = forceBudgets.has(rule.id);
      for (const k of this.storeKeys(rule, id, labels)) out.push({ rule, key: k.key, storeKey: k.storeKey, unit, spec, amount, exception: x, force });
    }
    return out;
  }

  async decide(req: DecisionRequest, now: number): Promise<Decision> {
    const { identity: id, call } = req;
    const policyRef = { name: this.policy.name, hash: this.policy.hash };
    const detected = req.detected ?? detect(call.texts, this.detectorNames);
    const { labels, weight } = classifyDetected(this.policy, detected, req.declaredLabels);
    const ent = this.entitlementOf(id);
    // Every decision is built by this one function with every field in one order: one object
    // shape for the hot path (spreads would make each decision a slow dictionary object).
    const make = (f: Pick<Decision, 'outcome' | 'status' | 'rule' | 'reason' | 'reserved' | 'limits' | 'remaining'> & Partial<Decision>): Decision => ({
      outcome: f.outcome, shadow: req.shadow === true, status: f.status, refusal: f.refusal, rule: f.rule, reason: f.reason, retryAfterS: f.retryAfterS,
      identity: id, call, classification: labels, weight, model: call.model, modelServed: f.modelServed, outputCap: f.outputCap, trace: req.trace,
      reserved: f.reserved, limits: f.limits, exception: f.exception, remaining: f.remaining, policy: policyRef, hold: f.hold, units: f.units,
    });
    const noReserve: Reserved = { input_tokens: 0, output_tokens: 0, usd: 0 };
    const refuse = (refusal: RefusalKind, rule: string, reason: string): Decision => {
      // A shadow entitlement refusal is recorded as a refusal; the caller forwards the request
      // anyway, uncharged, since no accumulator was consulted.
      return make({ outcome: 'refuse', status: refusalAnswer(refusal).status, refusal, rule, reason, modelServed: req.shadow ? call.model : undefined, reserved: noReserve, limits: [], remaining: {} });
    };

    // Entitlements: no waiting helps, so they are checked before anything is held. A passthrough
    // (listing the models, probing the base URL) touches no model, so it needs no route entitlement.
    if (call.kind !== 'passthrough' && !ent.routeAllowed(call.route)) return refuse('entitlement', 'entitlements', `${id.user} is not entitled to route ${call.route}`);
    if (call.kind !== 'passthrough') {
      if (!ent.providerAllowed(call.provider)) return refuse('entitlement', 'entitlements', `${id.user} is not entitled to provider '${call.provider}'`);
      if (call.model && !ent.modelAllowed(call.model)) return refuse('entitlement', 'entitlements', `${id.user} is not entitled to model '${call.model}'`);
      if (ent.maxInputTokens !== undefined && call.inputTokens > ent.maxInputTokens) {
        return refuse('context', 'entitlements.max_input_tokens', `the prompt is about ${call.inputTokens} tokens, over the context cap of ${ent.maxInputTokens} for ${id.user}`);
      }
    }

    // A model priced nowhere is not free: a call a USD budget or limit would count is refused
    // rather than let through at $0.
    if ((call.kind === 'generate' || call.kind === 'embed') && call.model && !priceOf(this.policy, call.model)) {
      const counting = this.rules.find((r) => (r.kind === 'budget' || r.cost === 'usd') && ruleMatchesIdentity(r, id) && ruleMatchesRequest(r, call, call.model, labels));
      if (counting) {
        return refuse('entitlement', 'prices', `model '${call.model}' has no price (no entry in the bundle's prices and no prices.default), so ${counting.kind === 'budget' ? 'budget' : 'limit'} '${counting.id}' cannot count what it costs`);
      }
    }

    // Output: the client's maximum clamped by entitlement; without one, the policy's reserve.
    let outputCap: number | undefined;
    let perChoice = call.requestedOutputTokens ?? this.policy.guards.reserveOutputTokens;
    if (call.kind === 'generate' && ent.maxOutputTokens !== undefined) {
      if (call.requestedOutputTokens === undefined || call.requestedOutputTokens > ent.maxOutputTokens) outputCap = ent.maxOutputTokens;
      perChoice = Math.min(perChoice, ent.maxOutputTokens);
    }
    const outputTokens = call.kind === 'generate' ? perChoice * call.choices : 0;

    const attempt = async (model: string | undefined, force: ReadonlySet<string>): Promise<{ planned: PlannedCharge[]; result: Awaited<ReturnType<AccumulatorStore['reserve']>> }> => {
      const planned = this.plan(req, model, outputTokens, labels, weight, now, force);
      const result = await this.store.reserve(planned.map((p): ChargeOp => ({ key: p.storeKey, spec: p.spec, amount: p.amount, force: p.force || undefined })), now);
      return { planned, result };
    };

    let model = call.model;
    let outcome: Outcome = 'allow';
    let { planned, result } = await attempt(model, new Set());
    if (!result.ok) {
      const downgrade = this.downgradeFor(planned, result.failures, model);
      if (downgrade && ent.modelAllowed(downgrade.to)) {
        if (downgrade.to !== model) outcome = 'downgrade';
        model = downgrade.to;
        ({ planned, result } = await attempt(model, downgrade.budgets));
      }
    }

    const reservedUsd = usdFor(model ? priceOf(this.policy, model) : undefined, call.inputTokens, outputTokens) * weight;
    const reserved: Reserved = { input_tokens: call.inputTokens, output_tokens: outputTokens, usd: call.kind === 'generate' || call.kind === 'embed' ? reservedUsd : 0 };
    const limits = planned.map((p, i) => this.limitState(p, result.results[i]!));
    const exception = planned.find((p) => p.exception)?.exception;
    const exceptionRef = exception ? { id: exception.id, reason: exception.reason } : undefined;

    if (!result.ok) {
      const first = planned[result.failures[0]!]!;
      const firstResult = result.results[result.failures[0]!]!;
      const waits = result.failures.map((i) => result.results[i]!.retryAfterMs);
      const retryMs = waits.some((w) => w === null || w === undefined) ? null : Math.max(...(waits as number[]));
      const refusal: RefusalKind = first.rule.id === TRACE_GUARD ? 'trace' : first.rule.kind === 'budget' ? 'budget' : 'rate-limit';
      const reason = this.refusalReason(first, firstResult, id, retryMs);
      const retryAfterS = retryMs === null ? undefined : Math.max(1, Math.ceil(retryMs / 1000));
      if (!req.shadow) {
        return make({ outcome: 'refuse', status: refusalAnswer(refusal).status, refusal, rule: first.rule.id, reason, retryAfterS, reserved: noReserve, limits, exception: exceptionRef, remaining: {} });
      }
      // Shadow mode forwards the request anyway, so its spend is charged (past the limit) to keep
      // the accumulators telling the truth about what production would see.
      const forced = await this.store.reserve(planned.map((p) => ({ key: p.storeKey, spec: p.spec, amount: p.amount, force: true })), now);
      return make({
        outcome: 'refuse', status: refusalAnswer(refusal).status, refusal, rule: first.rule.id, reason, retryAfterS, modelServed: model, outputCap, reserved, limits, exception: exceptionRef,
        remaining: {}, hold: forced.ok ? forced.hold : undefined, units: planned.map((p) => p.unit),
      });
    }

    const remaining: { requests?: number; tokens?: number; usd?: number } = {};
    planned.forEach((p, i) => {
      const r = result.results[i]!;
      const left = Math.max(0, r.limit - r.after);
      if (remaining[p.unit] === undefined || left < remaining[p.unit]!) remaining[p.unit] = left;
    });
    const reason = outcome === 'downgrade'
      ? `budget exhausted for ${id.user}: ${call.model} downgraded to ${model}`
      : 'within every matching limit and budget';
    return make({
      outcome, status: 200, rule: outcome === 'downgrade' ? this.downgradeRule(planned) : null, reason, modelServed: model, outputCap, reserved, limits,
      exception: exceptionRef, remaining, hold: result.hold, units: planned.map((p) => p.unit),
    });
  }

  /** Charges what the call really used and returns the rest; unknown usage is charged at the reserved worst case. */
  async settle(decision: Decision, usage: Usage | undefined, now: number): Promise<Settlement> {
    const known = usage !== undefined;
    const used: Usage = usage ?? { input_tokens: decision.reserved.input_tokens, output_tokens: decision.reserved.output_tokens };
    const price = decision.modelServed ? priceOf(this.policy, decision.modelServed) : undefined;
    const usd = decision.call.kind === 'generate' || decision.call.kind === 'embed' ? usdFor(price, used.input_tokens, used.output_tokens) * decision.weight : 0;
    if (!decision.hold) return { usd, usage: used, usageKnown: known, limits: [], alerts: [] };
    const actual = decision.hold.charges.map((c, i) => {
      const unit = decision.units?.[i] ?? 'requests';
      if (unit === 'requests') return c.amount;
      if (unit === 'tokens') return decision.call.kind === 'count' ? 0 : (used.input_tokens + used.output_tokens) * decision.weight;
      return usd;
    });
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
   * When every refusal came from downgrade budgets that agree on one target, the request can go
   * ahead on that model, charged past those budgets. A request already for the target model goes
   * ahead as it is: the downgrade target is the floor a downgrade budget falls back to.
   */
  private downgradeFor(planned: PlannedCharge[], failures: readonly number[], model: string | undefined): { to: string; budgets: Set<string> } | undefined {
    if (!model) return undefined;
    let to: string | undefined;
    const budgets = new Set<string>();
    for (const i of failures) {
      const rule = planned[i]!.rule;
      if (rule.kind !== 'budget' || rule.onExceed !== 'downgrade' || !rule.downgradeTo) return undefined;
      if (to && to !== rule.downgradeTo) return undefined;
      to = rule.downgradeTo;
      budgets.add(rule.id);
    }
    return to ? { to, budgets } : undefined;
  }

  private downgradeRule(planned: PlannedCharge[]): string | null {
    const p = planned.find((c) => c.force && c.rule.kind === 'budget');
    return p ? p.rule.id : null;
  }

  private limitState(p: PlannedCharge, r: OpResult): LimitState {
    const kind = p.rule.kind === 'guard' ? 'guard' : p.rule.kind;
    return { rule: p.rule.id, kind, key: p.key, unit: p.unit, before: r.before, after: r.after, limit: r.limit };
  }

  private refusalReason(p: PlannedCharge, r: OpResult, id: Identity, retryMs: number | null): string {
    if (p.rule.id === AGENT_NAME_GUARD) {
      return `${id.user} has used ${r.before} agent names in x-tollgate-agent within the last hour, the most identity.max_agents_per_user (${r.limit}) allows, and '${id.agent}' would be one more: reuse a name; ${waitText(retryMs)}`;
    }
    if (p.rule.kind === 'guard') {
      return `trace ${p.key.slice('trace:'.length)} has made ${r.before} model calls, the most one chain may make (guards.max_calls_per_trace = ${r.limit}); a loop or recursion is likely`;
    }
    const rule = p.rule;
    const what = rule.kind === 'budget'
      ? `budget '${rule.id}' (${fmt(r.limit, 'usd')} per ${rule.period.type === 'calendar' ? rule.period.unit : 'rolling window'})`
      : `limit '${rule.id}' (${rule.algorithm === 'token-bucket' ? `${rule.cost} token bucket, burst ${r.limit}` : `${fmt(r.limit, rule.cost)} per sliding window`})`;
    const exception = p.exception ? ` with exception ${p.exception.id}` : '';
    return `${what}${exception} for ${p.key} (${id.user}): ${fmt(r.before, p.unit)} used of ${fmt(r.limit, p.unit)}, this request needs ${fmt(p.amount, p.unit)}; ${waitText(retryMs)}`;
  }
}
