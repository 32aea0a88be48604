import type { Engine } from '../engine/decide';
import { Replay } from '../engine/replay';
import type { AccumulatorStore } from '../engine/store';
import type { Ledger } from '../store/ledger/ledger';

const DAY = 86_400_000;

/** How far back the ledger must be read to rebuild every accumulator the policy keeps. */
export function restoreHorizon(engine: Engine, now: number): number {
  const p = engine.policy;
  let back = DAY;
  for (const l of p.limits) back = Math.max(back, l.algorithm === 'token-bucket' ? l.burst / l.rate.perMs : l.windowMs);
  for (const b of p.budgets) {
    if (b.period.type === 'rolling') back = Math.max(back, b.period.ms);
    else back = Math.max(back, b.period.unit === 'month' ? 31 * DAY : b.period.unit === 'week' ? 7 * DAY : DAY);
  }
  back = Math.max(back, p.guards.traceTtlMs);
  return now - back;
}

export interface RestoreSummary {
  readonly decisions: number;
  /** Decisions without a settle record (a crash mid-call): counted at their reserved worst case. */
  readonly unsettled: number;
}

/**
 * Rebuilds the accumulators from the ledger after a restart: every admitted decision charges what
 * it held, at its own time, and its settle record (if any) replaces that with what it really cost.
 * Records are applied in chain order, so each accumulator sees time move forward as it did live.
 * Rejects with LedgerError('corrupt') when a record read does not hold (see Ledger.verifiedRecords).
 */
export async function restoreFromLedger(ledger: Ledger, engine: Engine, store: AccumulatorStore, now: number): Promise<RestoreSummary> {
  const since = new Date(restoreHorizon(engine, now)).toISOString();
  const replay = new Replay(engine, store);
  // Verified as read: an edited record stops the start instead of rebuilding a budget from it.
  for await (const r of ledger.verifiedRecords(since)) {
    if (r.kind === 'decision') await replay.decision(r, Date.parse(r.time));
    else if (r.kind === 'settle') await replay.settle(r, Date.parse(r.time));
  }
  return { decisions: replay.decisions, unsettled: replay.unsettled };
}
