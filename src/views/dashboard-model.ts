// The dashboard's view model: filtering and shaping a StateSnapshot. Pure, so plain mocha tests it
// and the webview bundles it without any host code.

import type { AccumulatorView, StateSnapshot } from '../contracts/admin';
import type { DecisionSummary, SpendRow } from '../contracts/ledger-queries';

export type OutcomeFilter = 'all' | 'allow' | 'refuse' | 'downgrade' | 'error';

export interface DashboardFilters {
  /** Substring matched against user and agent, case-insensitive. */
  readonly identity: string;
  readonly model: string;
  readonly outcome: OutcomeFilter;
}

export const noFilters: DashboardFilters = { identity: '', model: '', outcome: 'all' };

export function parseFilters(value: unknown): DashboardFilters {
  if (typeof value !== 'object' || value === null) return noFilters;
  const v = value as Record<string, unknown>;
  const outcomes: readonly OutcomeFilter[] = ['all', 'allow', 'refuse', 'downgrade', 'error'];
  return {
    identity: typeof v.identity === 'string' ? v.identity : '',
    model: typeof v.model === 'string' ? v.model : '',
    outcome: outcomes.includes(v.outcome as OutcomeFilter) ? (v.outcome as OutcomeFilter) : 'all',
  };
}

export interface BucketRow {
  readonly rule: string;
  readonly kind: AccumulatorView['kind'];
  readonly key: string;
  readonly unit: AccumulatorView['unit'];
  readonly used: number;
  readonly limit: number;
  /** used / limit, clamped to 0..1 for drawing. */
  readonly fill: number;
  /** The highest alert threshold already crossed, if any. */
  readonly crossed?: number;
  readonly alertAt: readonly number[];
}

/** Whether `hay` holds `needle`, case-insensitive; an empty needle matches everything. */
export const contains = (hay: string, needle: string): boolean => needle === '' || hay.toLowerCase().includes(needle.toLowerCase());

export function bucketRows(accumulators: readonly AccumulatorView[], f: DashboardFilters): BucketRow[] {
  return accumulators
    .filter((a) => contains(a.key, f.identity))
    .map((a) => {
      const fill = a.limit > 0 ? Math.min(1, Math.max(0, a.used / a.limit)) : 0;
      const alertAt = [...(a.alertAt ?? [])].sort((x, y) => x - y);
      const crossed = alertAt.filter((t) => fill >= t).pop();
      return { rule: a.rule, kind: a.kind, key: a.key, unit: a.unit, used: a.used, limit: a.limit, fill, alertAt, ...(crossed === undefined ? {} : { crossed }) };
    })
    .sort((a, b) => b.fill - a.fill || a.rule.localeCompare(b.rule) || a.key.localeCompare(b.key));
}

export function recentDecisions(recent: readonly DecisionSummary[], f: DashboardFilters): DecisionSummary[] {
  return recent.filter(
    (d) =>
      (f.outcome === 'all' || d.outcome === f.outcome) &&
      (contains(d.user, f.identity) || contains(d.agent, f.identity)) &&
      (contains(d.model, f.model) || contains(d.model_served ?? '', f.model)),
  );
}

export function spendRows(rows: readonly SpendRow[], filter: string): SpendRow[] {
  return rows.filter((r) => contains(r.key, filter)).sort((a, b) => b.usd - a.usd || a.key.localeCompare(b.key));
}

/**
 * Spend over time as two aligned columns (seconds since epoch, USD) for the chart: per UTC day
 * once there are several days, else the running total of today's recent decisions, so a fresh
 * install shows its first calls instead of a single dot.
 */
export function spendSeries(snapshot: StateSnapshot): [number[], number[]] {
  const days = [...snapshot.spend.byDay].sort((a, b) => a.key.localeCompare(b.key));
  const xs: number[] = [];
  const ys: number[] = [];
  // Two days or more: by day. Recent decisions may be gone (a restart) while the day's spend is
  // known: then that one day.
  if (days.length >= 2 || snapshot.recent.length === 0) {
    for (const d of days) {
      const t = Date.parse(`${d.key}T00:00:00Z`);
      if (Number.isNaN(t)) continue;
      xs.push(t / 1000);
      ys.push(d.usd);
    }
    return [xs, ys];
  }
  let total = 0;
  for (const d of [...snapshot.recent].sort((a, b) => a.time.localeCompare(b.time))) {
    const t = Date.parse(d.time);
    if (Number.isNaN(t)) continue;
    total += d.usd;
    xs.push(t / 1000);
    ys.push(total);
  }
  return [xs, ys];
}

export type SpendBreakdown = 'total' | 'user' | 'agent' | 'model';

/** Spend per day for the keys that spent most: aligned columns for a chart with one line per key. */
export interface SpendLines {
  /** Seconds since epoch, one per UTC day. */
  readonly xs: number[];
  readonly lines: { readonly label: string; readonly usd: number[] }[];
}

/** The UTC days, oldest first, of the `count` days that end with the one holding `time`. */
export function daysEndingAt(time: string, count: number): string[] {
  const end = Date.parse(`${time.slice(0, 10)}T00:00:00Z`);
  if (Number.isNaN(end)) return [];
  return Array.from({ length: count }, (_, i) => new Date(end - (count - 1 - i) * 86_400_000).toISOString().slice(0, 10));
}

/**
 * Spend per day over `days` broken down by person, agent or model, from rows keyed `<day> <key>`:
 * the `top` keys by total spend (matching `filter`) each get a line, the rest are summed as
 * `others`, and a day without spend for a key counts zero. Rows outside `days` are left out.
 */
export function spendLines(rows: readonly SpendRow[], days: readonly string[], filter: string, top = 6): SpendLines {
  const inRange = new Set(days);
  const byKey = new Map<string, Map<string, number>>();
  for (const r of rows) {
    const day = r.key.slice(0, 10);
    const key = r.key.slice(11);
    if (!inRange.has(day) || !contains(key, filter)) continue;
    const perDay = byKey.get(key) ?? new Map<string, number>();
    perDay.set(day, (perDay.get(day) ?? 0) + r.usd);
    byKey.set(key, perDay);
  }
  const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
  const keys = [...byKey.entries()].sort((a, b) => total(b[1]) - total(a[1]) || a[0].localeCompare(b[0]));
  const line = (label: string, perDay: (day: string) => number): { label: string; usd: number[] } => ({ label, usd: days.map(perDay) });
  const lines = keys.slice(0, top).map(([key, m]) => line(key, (d) => m.get(d) ?? 0));
  const rest = keys.slice(top);
  if (rest.length > 0) lines.push(line(`others (${rest.length})`, (d) => rest.reduce((sum, [, m]) => sum + (m.get(d) ?? 0), 0)));
  return { xs: days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000), lines };
}

/** Seconds either side of a chart's only instant: the day around it. */
export const SINGLE_INSTANT_PAD_S = 43_200;

/**
 * The time axis of a spend chart, in seconds since epoch: exactly the data's span, or `pad`
 * either side of a single instant. Given to uPlot as the x scale's range, computed from the data
 * itself: uPlot widens a time scale with one point to a thousand days before asking for a range.
 */
export function timeAxisRange(xs: ArrayLike<number | null | undefined>, pad = SINGLE_INSTANT_PAD_S): [number, number] | [null, null] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    if (x == null || !Number.isFinite(x)) continue;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  if (min > max) return [null, null];
  return min === max ? [min - pad, max + pad] : [min, max];
}

/** Fewest pixels between two time ticks: room for a time of day, and for the first label's date beside it. */
export const TIME_TICK_MIN_PX = 100;

/**
 * The least room between the ticks of a time axis `plotPx` wide over [min, max] (seconds): room
 * for their labels, and never less than a second's width, so ticks are whole seconds apart. Labels
 * name seconds at most: ticks closer than that (calls made within a few seconds) would repeat one.
 */
export function timeAxisSpace(min: number, max: number, plotPx: number): number {
  const width = max - min;
  return width > 0 && Number.isFinite(width) ? Math.max(TIME_TICK_MIN_PX, plotPx / width) : TIME_TICK_MIN_PX;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * The time axis's tick labels, in UTC (the days spend is kept in): months with their year when
 * ticks are a month or more apart, days when a day or more, else times of day, the first one with
 * its date. `splits` are seconds since epoch, `incr` the seconds between ticks.
 */
export function timeTickLabels(splits: readonly number[], incr: number): string[] {
  const two = (n: number): string => String(n).padStart(2, '0');
  return splits.map((s, i) => {
    const d = new Date(s * 1000);
    const day = `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}`;
    if (incr >= 28 * 86_400) return `${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
    if (incr >= 86_400) return day;
    const time = incr >= 60 ? `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}` : `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
    return i === 0 ? `${day} ${time} UTC` : time;
  });
}
