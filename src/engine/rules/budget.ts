import type { AccumulatorSpec } from '../limiters/spec';
import type { Budget, RuleException } from '../policy/model';
import type { PlannedCharge } from './charge';
import { DeclaredRule } from './declared-rule';
import { amount } from './wording';

const DAY_MS = 86_400_000;

// A budget: USD per calendar period or rolling window, with alert thresholds; exceeded, it refuses
// or downgrades the call to a cheaper model.

export class BudgetRule extends DeclaredRule<Budget> {
  readonly kind = 'budget' as const;
  readonly refusal = 'budget' as const;
  readonly unit = 'usd' as const;
  readonly downgradeTo: string | undefined;

  constructor(def: Budget, exceptions: readonly RuleException[]) {
    super(def, exceptions);
    this.downgradeTo = def.onExceed === 'downgrade' ? def.downgradeTo : undefined;
  }

  protected specFor(x: RuleException | undefined): AccumulatorSpec {
    const b = this.def;
    const limit = x?.limitUsd ?? b.limitUsd;
    return b.period.type === 'calendar'
      ? { type: 'calendar', unit: b.period.unit, limit, alertAt: b.alertAt }
      : { type: 'rolling', windowMs: b.period.ms, limit, alertAt: b.alertAt };
  }

  /** The longest its period can be: a calendar month is at most 31 days. */
  horizonMs(): number {
    const p = this.def.period;
    if (p.type === 'rolling') return p.ms;
    return (p.unit === 'month' ? 31 : p.unit === 'week' ? 7 : 1) * DAY_MS;
  }

  protected describe(limit: number): string {
    const b = this.def;
    return `budget '${b.id}' (${amount(limit, 'usd')} per ${b.period.type === 'calendar' ? b.period.unit : 'rolling window'})`;
  }
}

/**
 * When every refusal came from downgrade budgets that agree on one target, the request can go
 * ahead on that model, charged past those budgets. A request already for the target model goes
 * ahead as it is: the downgrade target is the floor a downgrade budget falls back to.
 */
export function downgradeFor(planned: readonly PlannedCharge[], failures: readonly number[], model: string | undefined): { to: string; budgets: Set<string> } | undefined {
  if (!model) return undefined;
  let to: string | undefined;
  const budgets = new Set<string>();
  for (const i of failures) {
    const rule = planned[i]!.rule;
    if (!rule.downgradeTo) return undefined;
    if (to && to !== rule.downgradeTo) return undefined;
    to = rule.downgradeTo;
    budgets.add(rule.id);
  }
  return to ? { to, budgets } : undefined;
}

/** The budget a downgraded call was charged past, which the decision names. */
export function downgradeRule(planned: readonly PlannedCharge[]): string | null {
  const p = planned.find((c) => c.force && c.rule.kind === 'budget');
  return p ? p.rule.id : null;
}
