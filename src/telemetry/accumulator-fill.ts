import type { AccumulatorView } from '../contracts/admin';

// How the accumulators of an exported limit or budget become a bounded number of gauge series.
//
// A rule keeps one accumulator per identity key (per person, per agent, per role...). Without
// per-person labels every accumulator of a rule collapses into one series, and with them into one
// series per person. The series reports the FULLEST accumulator of the group, not their sum: a
// limit refuses the one key that reaches it, so "the nearest anyone is to being refused" is what a
// fill alert needs, while a sum of per-person amounts compares to no limit the bundle states.

/** One gauge series: the fullest accumulator of a rule (for one person, where labelled). */
export interface FillSeries {
  readonly rule: string;
  readonly kind: AccumulatorView['kind'];
  readonly unit: AccumulatorView['unit'];
  /** The person label's value, when the bundle asks for per-person series and the key has a person. */
  readonly person?: string;
  readonly used: number;
  readonly limit: number;
  /** used / limit, 0 when the limit is 0. */
  readonly fill: number;
}

function fillOf(v: Pick<AccumulatorView, 'used' | 'limit'>): number {
  return v.limit > 0 ? v.used / v.limit : 0;
}

/**
 * Groups the accumulators of the exported rules by rule (and person, when `personOf` names one)
 * and keeps the fullest of each group.
 */
export function fillSeries(views: readonly AccumulatorView[], exported: ReadonlySet<string>, personOf: (key: string) => string | undefined): FillSeries[] {
  const groups = new Map<string, FillSeries>();
  for (const v of views) {
    if (!exported.has(v.rule)) continue;
    const person = personOf(v.key);
    const group = `${v.rule}\u0000${person ?? ''}`;
    const fill = fillOf(v);
    const known = groups.get(group);
    if (!known || fill > known.fill) groups.set(group, { rule: v.rule, kind: v.kind, unit: v.unit, person, used: v.used, limit: v.limit, fill });
  }
  return [...groups.values()];
}
