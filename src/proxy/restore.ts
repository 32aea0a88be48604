import type { Engine } from '../engine/decide';
import { Replay } from '../engine/replay';
import type { AccumulatorStore } from '../engine/store';
import type { Ledger } from '../store/ledger/ledger';
import type { AccumulatorReadModel } from '../views/accumulator-read-model';

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
 * The views' read model, when given, lists every accumulator a recorded decision touched.
 */
export async function restoreFromLedger(ledger: Ledger, engine: Engine, store: AccumulatorStore, now: number, views?: AccumulatorReadModel): Promise<RestoreSummary> {
  const since = new Date(engine.replayFrom(now)).toISOString();
  const replay = new Replay(engine, store);
  // Verified as read: an edited record stops the start instead of rebuilding a budget from it.
  for await (const r of ledger.verifiedRecords(since)) {
    if (r.kind === 'decision') {
      views?.noteRecorded(r.limits, engine);
      await replay.decision(r, Date.parse(r.time));
    } else if (r.kind === 'settle') await replay.settle(r, Date.parse(r.time));
  }
  return { decisions: replay.decisions, unsettled: replay.unsettled };
}

/**
 * Lists in the views' read model every accumulator a decision within the horizon touched, when a
 * shared store keeps the amounts and nothing else is restored from the ledger.
 */
export async function recallAccumulators(ledger: Ledger, engine: Engine, now: number, views: AccumulatorReadModel): Promise<void> {
  for await (const r of ledger.records({ since: new Date(engine.replayFrom(now)).toISOString() })) {
    if (r.kind === 'decision') views.noteRecorded(r.limits, engine);
  }
}
