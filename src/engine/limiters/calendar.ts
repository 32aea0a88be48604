// UTC calendar periods for budgets: a day, an ISO week (from Monday) or a month.

export function periodStart(unit: 'day' | 'week' | 'month', now: number): number {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const day = Date.UTC(y, m, d.getUTCDate());
  if (unit === 'day') return day;
  if (unit === 'month') return Date.UTC(y, m, 1);
  const sinceMonday = (d.getUTCDay() + 6) % 7;
  return day - sinceMonday * 86_400_000;
}

export function periodEnd(unit: 'day' | 'week' | 'month', now: number): number {
  const start = periodStart(unit, now);
  if (unit === 'day') return start + 86_400_000;
  if (unit === 'week') return start + 7 * 86_400_000;
  const d = new Date(start);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}
