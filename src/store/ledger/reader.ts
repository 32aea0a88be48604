import { LedgerError } from './errors';
import type { AuditRecord } from './records';
import type { Segment } from './segments';
import { firstRecord, listSegments, scanJournal } from './segments';

/**
 * A range of the chain. A number is a seq, a string a time (ISO 8601, any offset; a bare date
 * means its UTC midnight). `since` is inclusive, `until` exclusive.
 */
export interface RecordRange {
  since?: string | number;
  until?: string | number;
}

/** Normalises a time bound to the ISO 8601 UTC form records carry, so bounds compare as strings. */
export function normaliseTime(value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new LedgerError('invalid', `not a time: '${value}' (use ISO 8601, e.g. 2026-01-31 or 2026-01-31T12:00:00Z)`);
  return new Date(ms).toISOString();
}

function before(r: AuditRecord, bound: string | number): boolean {
  return typeof bound === 'number' ? r.seq < bound : r.time < bound;
}

/**
 * Streams records oldest first, in bounded memory, stopping at `throughSeq` (the signed head:
 * anything after it was never acknowledged). A line that does not parse is an error here;
 * `tollgate audit verify` is where damage gets diagnosed.
 */
export async function* readRecords(journalDir: string, range: RecordRange, throughSeq: number): AsyncGenerator<AuditRecord> {
  const since = typeof range.since === 'string' ? normaliseTime(range.since) : range.since;
  const until = typeof range.until === 'string' ? normaliseTime(range.until) : range.until;
  const start = since === undefined ? undefined : { seq: typeof since === 'number' ? since : await seqAtOrBefore(listSegments(journalDir), since) };
  for await (const line of scanJournal(journalDir, start)) {
    if (!line.record) {
      if (!line.complete) return; // a write in progress (live ledger) or a torn tail past the head
      throw new LedgerError('corrupt', `${line.segment.file} at byte ${line.offset}: ${line.problem ?? 'unreadable line'} (run tollgate audit verify)`);
    }
    const r = line.record;
    if (r.seq > throughSeq) return;
    if (since !== undefined && before(r, since)) continue;
    if (until !== undefined && !before(r, until)) return; // seq and time both only grow along the chain
    yield r;
  }
}

/** A seq to start scanning from for a time bound: the first seq of the last segment starting before it. */
async function seqAtOrBefore(segments: Segment[], time: string): Promise<number> {
  let seq = 0;
  for (const seg of segments) {
    const first = await firstRecord(seg);
    if (!first || first.time >= time) break;
    seq = seg.firstSeq;
  }
  return seq;
}
