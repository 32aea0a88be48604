import type { LineResult } from './replay';

// What a proposed policy changes against a baseline, request by request: both replay the same
// line, so "newly refused" means this very request the baseline let through.

/** One person whose outcome changes. Field names are part of the JSON report's stable shape. */
export interface IdentityChange {
  user: string;
  /** Requests the baseline admitted (or downgraded) that the policy refuses. */
  newly_refused: number;
  newly_refused_by_rule: Record<string, number>;
  /** Time (ISO 8601) of the first newly refused request, and the rule that refused it. */
  from: string | null;
  first_rule: string | null;
  /** Requests the baseline refused that the policy admits. */
  no_longer_refused: number;
  /** Requests the policy downgrades that the baseline did not. */
  newly_downgraded: number;
  usd_baseline: number;
  usd: number;
  usd_delta: number;
}

export class BaselineDiff {
  private readonly rows = new Map<string, IdentityChange>();

  record(user: string, time: number, baseline: LineResult, proposed: LineResult): void {
    let row = this.rows.get(user);
    if (!row) {
      row = { user, newly_refused: 0, newly_refused_by_rule: {}, from: null, first_rule: null, no_longer_refused: 0, newly_downgraded: 0, usd_baseline: 0, usd: 0, usd_delta: 0 };
      this.rows.set(user, row);
    }
    row.usd_baseline += baseline.usd;
    row.usd += proposed.usd;
    const wasRefused = baseline.outcome === 'refuse';
    const isRefused = proposed.outcome === 'refuse';
    if (isRefused && !wasRefused) {
      const rule = proposed.rule ?? 'unknown';
      row.newly_refused++;
      row.newly_refused_by_rule[rule] = (row.newly_refused_by_rule[rule] ?? 0) + 1;
      if (row.from === null) {
        row.from = new Date(time).toISOString();
        row.first_rule = rule;
      }
    } else if (wasRefused && !isRefused) row.no_longer_refused++;
    if (proposed.outcome === 'downgrade' && baseline.outcome !== 'downgrade') row.newly_downgraded++;
  }

  /** People whose outcome or cost changes, sorted by user. */
  changes(): IdentityChange[] {
    const out: IdentityChange[] = [];
    for (const row of this.rows.values()) {
      row.usd_delta = row.usd - row.usd_baseline;
      if (row.newly_refused || row.no_longer_refused || row.newly_downgraded || Math.abs(row.usd_delta) > 1e-9) out.push(row);
    }
    return out.sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
  }
}
