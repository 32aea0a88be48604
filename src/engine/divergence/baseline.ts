import type { DivergenceConfig } from '../policy/model';
import type { DivergenceMeasure } from '../policy/schema';

// The arithmetic of guards.divergence: an identity's baseline is the median of what it did per
// hour over the hours it was active, and it diverges when the window's amount passes both the
// ratio times that baseline (scaled to the window) and the floor.

export const HOUR_MS = 3_600_000;

export const MEASURES: readonly DivergenceMeasure[] = ['calls', 'tokens', 'usd'];

/** Calls, tokens and USD: one hour's totals, a window's, or a baseline's. */
export type Amounts = Readonly<Record<DivergenceMeasure, number>>;

export const NO_AMOUNTS: Amounts = { calls: 0, tokens: 0, usd: 0 };

/** An identity's usual hour: the median of each measure over the hours it was active. */
export interface Baseline {
  readonly perHour: Amounts;
  /** How many active hours the medians are taken over (0: no history, so only the floor applies). */
  readonly activeHours: number;
}

export const NO_BASELINE: Baseline = { perHour: NO_AMOUNTS, activeHours: 0 };

/** The median of `values` (the mean of the middle two for an even count); 0 for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The baseline over some hours' totals. Only hours with activity count: a person who works eight
 * hours a day has a median hour of zero over the whole week, which would make any work divergent.
 */
export function baselineOf(hours: Iterable<Amounts>): Baseline {
  const columns: Record<DivergenceMeasure, number[]> = { calls: [], tokens: [], usd: [] };
  for (const h of hours) {
    if (h.calls <= 0 && h.tokens <= 0 && h.usd <= 0) continue;
    for (const m of MEASURES) columns[m].push(h[m]);
  }
  return { perHour: { calls: median(columns.calls), tokens: median(columns.tokens), usd: median(columns.usd) }, activeHours: columns.calls.length };
}

/** Why an identity diverges: the first measure (in the bundle's order) past its threshold. */
export interface Divergence {
  readonly measure: DivergenceMeasure;
  /** What the identity did in the window. */
  readonly recent: number;
  /** Its baseline scaled to the window's length. */
  readonly baseline: number;
  /** max(ratio x baseline, floor): what `recent` passed. */
  readonly threshold: number;
  /** recent / baseline, or null when there is no baseline (a new identity past the floor). */
  readonly ratio: number | null;
}

/** The amount in the window above which `measure` diverges. */
export function thresholdOf(config: DivergenceConfig, baseline: Baseline, measure: DivergenceMeasure): number {
  return Math.max(config.floor[measure], config.ratio * scaled(config, baseline, measure));
}

function scaled(config: DivergenceConfig, baseline: Baseline, measure: DivergenceMeasure): number {
  return (baseline.perHour[measure] * config.windowMs) / HOUR_MS;
}

/** Whether the window's amounts diverge from the baseline under the bundle's guard; undefined when they do not. */
export function divergenceOf(config: DivergenceConfig, baseline: Baseline, recent: Amounts): Divergence | undefined {
  for (const measure of config.measures) {
    const threshold = thresholdOf(config, baseline, measure);
    if (recent[measure] > threshold) {
      const base = scaled(config, baseline, measure);
      return { measure, recent: recent[measure], baseline: base, threshold, ratio: base > 0 ? recent[measure] / base : null };
    }
  }
  return undefined;
}
