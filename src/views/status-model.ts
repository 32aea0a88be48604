// What the status bar says, computed from the dashboard state alone so it is tested without an editor.

import type { AccumulatorView } from '../contracts/admin';
import type { DashboardState } from '../protocol';
import { counted } from '../contracts/wording';

export interface StatusView {
  readonly text: string;
  readonly tooltip: string;
  readonly level: 'normal' | 'warning' | 'error';
}

export interface TightestLimit {
  readonly accumulator: AccumulatorView;
  /** Fraction of the limit still available, 0..1. */
  readonly remaining: number;
}

/** The accumulator closest to refusing: the smallest remaining fraction of its limit. */
export function tightestLimit(accumulators: readonly AccumulatorView[]): TightestLimit | undefined {
  let best: TightestLimit | undefined;
  for (const a of accumulators) {
    if (!(a.limit > 0)) continue;
    const remaining = Math.min(1, Math.max(0, (a.limit - a.used) / a.limit));
    if (!best || remaining < best.remaining) best = { accumulator: a, remaining };
  }
  return best;
}

export function formatUsd(usd: number): string {
  if (!Number.isFinite(usd)) return '$?';
  // A typical call costs a fraction of a cent: show enough digits that it is not rounded to zero.
  if (usd !== 0 && Math.abs(usd) < 0.0001) return `$${usd.toFixed(6)}`;
  if (usd !== 0 && Math.abs(usd) < 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toFixed(2)}`;
}

/**
 * The status bar item: proxy phase, today's spend and the tightest remaining limit. It turns to a
 * warning once any limit has less than `1 - warnAt` left, or when a policy edit was refused.
 */
export function statusView(state: DashboardState, warnAt = 0.8): StatusView {
  const { proxy, snapshot, policy } = state;
  const rejected = policy.rejected ? `\nPolicy edit refused (${counted(policy.rejected.errors.length, 'error')}); the last good policy stays in force.` : '';
  if (proxy.phase === 'failed') {
    return { text: '$(error) Tollgate: stopped', tooltip: `Tollgate proxy failed: ${proxy.detail ?? 'unknown reason'}. Click to open the dashboard.${rejected}`, level: 'error' };
  }
  if (proxy.phase !== 'running' || !snapshot) {
    const label = proxy.phase === 'restarting' ? 'restarting' : proxy.phase === 'stopped' ? 'off' : 'starting';
    return { text: `$(sync~spin) Tollgate: ${label}`, tooltip: `Tollgate proxy ${label}${proxy.detail ? `: ${proxy.detail}` : ''}.${rejected}`, level: rejected ? 'warning' : 'normal' };
  }
  const tight = tightestLimit(snapshot.accumulators);
  const near = tight !== undefined && tight.remaining <= 1 - warnAt;
  const limitText = tight ? ` · ${tight.accumulator.rule} ${Math.round(tight.remaining * 100)}% left` : '';
  const lines = [
    `Tollgate proxy running · policy ${snapshot.health.policy.name}`,
    `Spend today: ${formatUsd(snapshot.todayUsd)}`,
    tight ? `Tightest limit: ${tight.accumulator.rule} (${tight.accumulator.key}) ${tight.accumulator.used}/${tight.accumulator.limit} ${tight.accumulator.unit}` : 'No limit has counted anything yet',
    'Click to open the dashboard.',
  ];
  return {
    text: `${near ? '$(warning)' : '$(shield)'} Tollgate ${formatUsd(snapshot.todayUsd)}${limitText}`,
    tooltip: lines.join('\n') + rejected,
    level: near || rejected ? 'warning' : 'normal',
  };
}
