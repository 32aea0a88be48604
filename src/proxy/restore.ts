import type { Engine } from '../engine/decide';
import { Replay } from '../engine/replay';
import type { AccumulatorStore } from '../engine/store';
import type { Ledger } from '../store/ledger/ledger';

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
  const since = new Date(engine.replayFrom(now)).toISOString();
  const replay = new Replay(engine, store);
  // Verified as read: an edited record stops the start instead of rebuilding a budget from it.
  for await (const r of ledger.verifiedRecords(since)) {
    if (r.kind === 'decision') await replay.decision(r, Date.parse(r.time));
    else if (r.kind === 'settle') await replay.settle(r, Date.parse(r.time));
  }
  return { decisions: replay.decisions, unsettled: replay.unsettled };
}
