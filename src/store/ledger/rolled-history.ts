import { detailOf, indexRowOf } from './index-db';
import type { DetailRow, SettleValues } from './index-db';
import { readRecords } from './reader';

/*
 * Rolled-up decisions in detail, read back from the journal: the index holds only the newest
 * decisions in full (index-db.ts), so a question about an older one (the edge of a spend range
 * inside an hour, a list of recent decisions longer than the detail window, whether an old call
 * settled) reads the records of that time. Records are in time order, so reading starts at the
 * segment holding the span's start; it ends where the index had covered when it rolled those hours
 * up, since a settle after that is in the index itself (`late settles`). Memory holds the span's
 * decisions, or only those still unsettled when that is all the question needs.
 */

export interface RolledSpan {
  /** Decisions at or after this time (null: from the start)... */
  from: string | null;
  /** ...and before this one (null: no end). */
  to: string | null;
  /** Only decisions up to this seq: those after it are held in detail. */
  rolledSeq: number;
  /** Read settles up to this seq: the index covered this far when it rolled these hours up. */
  through: number;
  /** Only this decision. */
  id?: string;
  /** Keep only decisions that have not settled. */
  unsettledOnly?: boolean;
}

/** The rolled-up decisions of a span with their settle state, oldest first; `lateSettle` gives a settle that came after the rollup. */
export async function readRolledDecisions(journalDir: string, span: RolledSpan, lateSettle: (id: string) => SettleValues | null): Promise<DetailRow[]> {
  const found = new Map<string, DetailRow>();
  let open = 0;
  for await (const r of readRecords(journalDir, span.from === null ? {} : { since: span.from }, span.through)) {
    if (r.kind === 'decision') {
      if (r.seq > span.rolledSeq || (span.to !== null && r.time >= span.to)) {
        // Past the span: only settles of what it holds are still of interest.
        if (open === 0) break;
        continue;
      }
      if (span.id !== undefined && r.id !== span.id) continue;
      const row = indexRowOf(r);
      if (row?.[0] !== 'decision') continue;
      found.set(r.id, detailOf(row));
      open++;
    } else if (r.kind === 'settle') {
      const d = found.get(r.decision);
      if (!d) continue;
      if (d[17] === 0) open--;
      if (span.unsettledOnly) {
        found.delete(r.decision);
        continue;
      }
      d[17] = 1;
      d[18] = r.usd;
      d[19] = r.usage.input_tokens;
      d[20] = r.usage.output_tokens;
    }
  }
  const out: DetailRow[] = [];
  for (const d of found.values()) {
    const late = lateSettle(d[0]);
    if (late) {
      if (span.unsettledOnly) continue;
      d[17] = 1;
      [d[18], d[19], d[20]] = late;
    }
    out.push(d);
  }
  return out;
}
