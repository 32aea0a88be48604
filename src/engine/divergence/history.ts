import type { DivergenceConfig } from '../policy/model';
import type { Amounts, Baseline } from './baseline';
import { baselineOf, HOUR_MS } from './baseline';

/**
 * Per-hour totals per identity key, kept as calls are counted, for a replay that has no ledger
 * index: the baseline at a time is taken over the hours before the current one, within the
 * bundle's baseline period, as the proxy takes it from the ledger's hourly roll-ups.
 */
export class HourlyHistory {
  private readonly hours = new Map<string, Map<number, Record<keyof Amounts, number>>>();
  private readonly cached = new Map<string, { hour: number; baseline: Baseline }>();

  constructor(private readonly config: DivergenceConfig) {}

  add(key: string, time: number, amounts: Amounts): void {
    const hour = Math.floor(time / HOUR_MS) * HOUR_MS;
    let byHour = this.hours.get(key);
    if (!byHour) this.hours.set(key, (byHour = new Map()));
    const h = byHour.get(hour) ?? { calls: 0, tokens: 0, usd: 0 };
    h.calls += amounts.calls;
    h.tokens += amounts.tokens;
    h.usd += amounts.usd;
    byHour.set(hour, h);
  }

  /** The baseline for `key` at `now`; computed once per identity and hour, as the hours before it do not change. */
  baselineAt(key: string, now: number): Baseline | undefined {
    const hour = Math.floor(now / HOUR_MS) * HOUR_MS;
    const c = this.cached.get(key);
    if (c && c.hour === hour) return c.baseline;
    const byHour = this.hours.get(key);
    if (!byHour) return undefined;
    const from = now - this.config.baselineMs;
    const within: Amounts[] = [];
    for (const [start, totals] of byHour) {
      if (start < hour && start >= from - HOUR_MS + 1) within.push(totals);
      // Hours older than any baseline can reach are dropped.
      else if (start < from - HOUR_MS) byHour.delete(start);
    }
    const baseline = baselineOf(within);
    this.cached.set(key, { hour, baseline });
    return baseline;
  }
}
