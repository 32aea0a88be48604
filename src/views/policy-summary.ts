// The limits and budgets of the bundle in force, each as one line for people: what the
// dashboard's "policy in force" lists, so a team sees the rules, not only the accumulators that
// traffic has already touched. Pure, so the views and the admin snapshot share it.

import type { RuleSummary } from '../contracts/admin';
import type { Budget, Limit, Policy } from '../engine/policy/model';

function duration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['min', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

function limitText(l: Limit): string {
  const cost = l.cost === 'usd' ? 'USD' : l.cost;
  return l.algorithm === 'token-bucket'
    ? `${l.rate.text} ${cost}, burst ${l.burst}`
    : `${l.limit} ${cost} per ${duration(l.windowMs)} (sliding)`;
}

function budgetText(b: Budget): string {
  const period = b.period.type === 'calendar' ? `per ${b.period.unit}` : `per ${duration(b.period.ms)} (rolling)`;
  const exceed = b.onExceed === 'downgrade' && b.downgradeTo ? `downgrade to ${b.downgradeTo}` : b.onExceed;
  const alerts = b.alertAt.length ? `, alerts at ${b.alertAt.map((a) => `${Math.round(a * 100)}%`).join(' / ')}` : '';
  return `$${b.limitUsd} ${period}, then ${exceed}${alerts}`;
}

export function ruleSummaries(policy: Policy): RuleSummary[] {
  return [
    ...policy.limits.map((l) => ({ id: l.id, kind: 'limit' as const, per: l.per.join('+'), text: limitText(l) })),
    ...policy.budgets.map((b) => ({ id: b.id, kind: 'budget' as const, per: b.per.join('+'), text: budgetText(b) })),
  ];
}
