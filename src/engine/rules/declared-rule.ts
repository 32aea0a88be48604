import type { ModelCall } from '../../contracts/call';
import type { RefusalKind } from '../../contracts/refusal';
import { accumulatorKey } from '../accumulator-key';
import type { AccumulatorKey } from '../accumulator-key';
import { anyGlobMatch, globMatch } from '../glob';
import type { Identity } from '../identity/identity';
import type { AccumulatorSpec, OpResult } from '../limiters/spec';
import type { CostUnit, Rule, RuleException } from '../policy/model';
import type { ChargingRule, PlanFacts, PlannedCharge, RestoredAccumulator } from './charge';
import { usage, waitText } from './wording';

// What every rule the bundle declares (limits and budgets) does alike: which identities and
// requests it counts, the keys it accumulates against, the exceptions that override it, and how
// it plans a call's charges. Each kind's own module says what its accumulator is.

/** Whether a rule's `match` admits this identity. */
export function matchesIdentity(rule: Rule, id: Identity): boolean {
  const m = rule.match;
  if (!m) return true;
  if (m.role && !m.role.some((r) => id.roles.includes(r))) return false;
  if (m.user && !m.user.some((u) => globMatch(u, id.user))) return false;
  if (m.agent && !m.agent.some((a) => globMatch(a, id.agent))) return false;
  if (m.tenant && (!id.tenant || !m.tenant.includes(id.tenant))) return false;
  return true;
}

/** Whether a rule's `when` admits this call, served as `model`. */
export function matchesRequest(rule: Rule, call: ModelCall, model: string | undefined, labels: readonly string[]): boolean {
  const w = rule.when;
  if (!w) return true;
  if (w.classification && !w.classification.some((c) => labels.includes(c))) return false;
  if (w.model && (!model || !w.model.some((g) => globMatch(g, model)))) return false;
  if (w.provider && !w.provider.includes(call.provider)) return false;
  if (w.route && !w.route.some((g) => globMatch(g, call.route))) return false;
  if (w.tool && !(call.tools ?? []).some((t) => anyGlobMatch(w.tool!, t))) return false;
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

interface IdentityKey {
  readonly key: string;
  readonly storeKey: AccumulatorKey;
}

export abstract class DeclaredRule<R extends Rule> implements ChargingRule {
  abstract readonly kind: 'limit' | 'budget';
  abstract readonly refusal: RefusalKind;
  abstract readonly unit: CostUnit;
  /** Whether a call's cache reads are left out of the tokens it is settled at (`cache_reads: skip`). */
  readonly skipsCacheReads: boolean = false;
  /** The rule's accumulator without an exception: built once, not per request. */
  private base?: AccumulatorSpec;
  /** Identity keys depend only on the identity (which repeats across requests) unless the rule is per classification. */
  private readonly identityKeys = new WeakMap<Identity, readonly IdentityKey[]>();

  constructor(
    readonly def: R,
    /** The bundle's exceptions to this rule, in the bundle's order. */
    readonly exceptions: readonly RuleException[],
  ) {}

  get id(): string {
    return this.def.id;
  }

  /** The accumulator, with an exception's overrides when one applies. */
  protected abstract specFor(exception: RuleException | undefined): AccumulatorSpec;

  abstract horizonMs(): number;

  /** The refusal's first words: which rule, and its allowance. */
  protected abstract describe(limit: number): string;

  spec(exception?: RuleException): AccumulatorSpec {
    if (exception) return this.specFor(exception);
    return (this.base ??= this.specFor(undefined));
  }

  /** Whether this rule counts the call, served as `model`. */
  counts(id: Identity, call: ModelCall, model: string | undefined, labels: readonly string[]): boolean {
    return matchesIdentity(this.def, id) && matchesRequest(this.def, call, model, labels);
  }

  /** The first exception in force for this identity now. */
  exceptionFor(id: Identity, now: number): RuleException | undefined {
    return this.exceptions.find(
      (x) =>
        now < x.expiresAt &&
        (!x.identity.user || globMatch(x.identity.user, id.user)) &&
        (!x.identity.agent || (!id.agentAsserted && globMatch(x.identity.agent, id.agent))) &&
        (!x.identity.role || id.roles.includes(x.identity.role)),
    );
  }

  /** Adds this rule's charges for the call to `out`; a rule that does not count the call adds none. */
  plan(f: PlanFacts, out: PlannedCharge[]): void {
    if (!this.counts(f.identity, f.call, f.model, f.labels)) return;
    const exception = this.exceptionFor(f.identity, f.now);
    const spec = this.spec(exception);
    const charged = f.cost[this.unit];
    // A call that can make no tool call holds nothing of a tool-call limit, even one already past its allowance.
    if (this.unit === 'tool_calls' && charged === 0) return;
    const force = f.forced.has(this.id);
    for (const k of this.keys(f.identity, f.labels)) out.push({ rule: this, key: k.key, storeKey: k.storeKey, unit: this.unit, spec, amount: charged, exception, force });
  }

  /** The accumulator a recorded charge of this rule belongs to, with the exception the record names while it exists. */
  restored(exceptionId: string | null | undefined): RestoredAccumulator {
    const exception = exceptionId ? this.exceptions.find((x) => x.id === exceptionId) : undefined;
    return { spec: this.spec(exception), unit: this.unit, ...this.settling() };
  }

  /** What settling a charge of this rule reads beyond its unit: whether it skips cache reads, which tools' calls it counts. */
  settling(): { skipsCacheReads?: boolean; toolGlobs?: readonly string[] } {
    return {
      ...(this.skipsCacheReads ? { skipsCacheReads: true } : {}),
      ...(this.unit === 'tool_calls' && this.def.when?.tool ? { toolGlobs: this.def.when.tool } : {}),
    };
  }

  explain(p: PlannedCharge, r: OpResult, id: Identity, retryMs: number | null): string {
    const exception = p.exception ? ` with exception ${p.exception.id}` : '';
    return `${this.describe(r.limit)}${exception} for ${p.key} (${id.user}): ${usage(r.before, r.limit, p.amount, p.unit)}; ${waitText(retryMs)}`;
  }

  private keys(id: Identity, labels: readonly string[]): readonly IdentityKey[] {
    const build = (): IdentityKey[] => keysFor(this.def, id, labels).map((key) => ({ key, storeKey: accumulatorKey(this.id, key) }));
    if (this.def.per.includes('classification')) return build();
    let keys = this.identityKeys.get(id);
    if (!keys) {
      keys = build();
      this.identityKeys.set(id, keys);
    }
    return keys;
  }
}
