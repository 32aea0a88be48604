import type { Budget } from '../policy/model';

// UTC calendar periods for budgets: a day, an ISO week (from Monday) or a month.

const DAY = 86_400_000;

export function periodStart(unit: 'day' | 'week' | 'month', now: number): number {
  // Days and weeks by arithmetic: this runs for every budget on every decision.
  const day = Math.floor(now / DAY) * DAY;
  if (unit === 'day') return day;
  // 1970-01-01 was a Thursday: (days + 3) % 7 counts days since Monday.
  if (unit === 'week') return day - ((Math.floor(now / DAY) + 3) % 7) * DAY;
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export function periodEnd(unit: 'day' | 'week' | 'month', now: number): number {
  const start = periodStart(unit, now);
  if (unit === 'day') return start + DAY;
  if (unit === 'week') return start + 7 * DAY;
  const d = new Date(start);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/**
 * When the current period of budget `rule` began, as an alert records it: the calendar period's
 * start, or `now` for a rolling budget (and for a rule that is no budget of this bundle).
 */
export function budgetPeriodStart(budgets: readonly Budget[], rule: string, now: number): number {
  const b = budgets.find((x) => x.id === rule);
  return !b || b.period.type === 'rolling' ? now : periodStart(b.period.unit, now);
}
