import { accumulatorKey } from '../engine/accumulator-key';
import type { Engine } from '../engine/decide';
import type { Hold } from '../engine/limiters/spec';
import type { CostUnit } from '../engine/policy/model';
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
  const open = new Map<string, { hold: Hold; units: CostUnit[]; amounts: number[]; weight: number }>();
  let decisions = 0;
  // Verified as read: an edited record stops the start instead of rebuilding a budget from it.
  for await (const r of ledger.verifiedRecords(since)) {
    if (r.kind === 'decision') {
      const charged = r.limits.filter((l) => l.after > l.before);
      if (charged.length === 0) continue;
      const ops: { key: string; spec: NonNullable<ReturnType<Engine['accumulatorFor']>>['spec']; amount: number; force: true }[] = [];
      const units: CostUnit[] = [];
      for (const l of charged) {
        const acc = engine.accumulatorFor(l.rule, r.exception?.id, r.identity.agent);
        if (!acc) continue;
        ops.push({ key: accumulatorKey(l.rule, l.key), spec: acc.spec, amount: l.after - l.before, force: true });
        units.push(acc.unit);
      }
      if (ops.length === 0) continue;
      const result = await store.reserve(ops, Date.parse(r.time));
      if (result.ok) {
        decisions++;
        open.set(r.id, { hold: result.hold, units, amounts: ops.map((o) => o.amount), weight: engine.weightOf(r.classification) });
      }
    } else if (r.kind === 'settle') {
      const held = open.get(r.decision);
      if (!held) continue;
      open.delete(r.decision);
      const known = r.usage.input_tokens !== null && r.usage.output_tokens !== null;
      const actual = held.units.map((unit, i) => {
        if (unit === 'requests') return held.amounts[i]!;
        if (unit === 'tokens') return known ? (r.usage.input_tokens! + r.usage.output_tokens!) * held.weight : held.amounts[i]!;
        return r.usd;
      });
      await store.settle(held.hold, actual, Date.parse(r.time));
    }
  }
  return { decisions, unsettled: open.size };
}
