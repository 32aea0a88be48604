import type { KeyObject } from 'node:crypto';
import { ChainChecker, commitSignatureHolds } from './chain';
import { LedgerError, verifyHint } from './errors';
import type { AuditRecord } from '../../contracts/audit-records';
import type { Segment } from './segments';
import { firstRecord, listSegments, scanJournal } from './segments';
import { describeProblem } from './verify';

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
 * Past a signed head read from disk, the commits it had not caught up with (journal.ts): a
 * record there counts once a signed record after it does, checked against the key when one is
 * given (without one, as export is run, `audit verify` is the check).
 */
export interface PastHead {
  publicKey: KeyObject | null;
  ledger: string | null;
}

/**
 * Streams records oldest first, in bounded memory, stopping at `throughSeq` (the last
 * acknowledged record) or, with `pastHead`, at the last signed commit after it. A line that does
 * not parse is an error here; `tollgate audit verify` is where damage gets diagnosed.
 */
export async function* readRecords(journalDir: string, range: RecordRange, throughSeq: number, pastHead?: PastHead): AsyncGenerator<AuditRecord> {
  const since = typeof range.since === 'string' ? normaliseTime(range.since) : range.since;
  const until = typeof range.until === 'string' ? normaliseTime(range.until) : range.until;
  const start = since === undefined ? undefined : { seq: typeof since === 'number' ? since : await seqAtOrBefore(listSegments(journalDir), since) };
  // Records past the head wait here until a signed record covers them (at most a commit's worth).
  let uncovered: AuditRecord[] = [];
  let lastSeq = 0;
  for await (const line of scanJournal(journalDir, start)) {
    if (!line.record) {
      // A write in progress (live ledger), or past the head a tail no signature covers.
      if (!line.complete || (pastHead && lastSeq >= throughSeq)) return;
      throw new LedgerError('corrupt', `${line.segment.file} at byte ${line.offset}: ${line.problem ?? 'unreadable line'} (run tollgate audit verify)`);
    }
    const r = line.record;
    lastSeq = r.seq;
    if (r.seq > throughSeq) {
      if (!pastHead) return;
      uncovered.push(r);
      if (!signedPastHead(r, pastHead)) continue;
      const covered = uncovered;
      uncovered = [];
      for (const c of covered) {
        if (since !== undefined && before(c, since)) continue;
        if (until !== undefined && !before(c, until)) return;
        yield c;
      }
      continue;
    }
    if (since !== undefined && before(r, since)) continue;
    if (until !== undefined && !before(r, until)) return; // seq and time both only grow along the chain
    yield r;
  }
}

function signedPastHead(r: AuditRecord, pastHead: PastHead): boolean {
  if (typeof r.sig !== 'string') return false;
  return pastHead.publicKey === null || commitSignatureHolds(pastHead.publicKey, r, pastHead.ledger);
}

/**
 * The acknowledged records from `since` on, for a reader that acts on them (the proxy rebuilding
 * every budget and window at start). Each record read on the way, from the start of the segment
 * where reading begins up to the signed head, is checked against its hash and the record before
 * it, and the last must be the record the head names; the first that is not stops the read with
 * LedgerError('corrupt') naming it.
 *
 * Signatures are not checked one by one here: the head's signature (checked when the ledger
 * opened) covers the head's hash, which commits through `prev` to every record before it, so a
 * record edited anywhere in between breaks a hash or a link, as a Certificate Transparency tree
 * head covers its tree. A signature check costs several times the hash (bench/README.md,
 * Ledger), and the key that would check each record is the one that signed the head.
 */
export async function* readVerifiedRecords(
  dataDir: string,
  journalDir: string,
  since: string | number | undefined,
  head: { seq: number; hash: string },
  /** Records from this seq on were hash-checked when the ledger opened; only their links are checked again. */
  checkedFrom = Number.POSITIVE_INFINITY,
): AsyncGenerator<AuditRecord> {
  if (head.seq === 0) return;
  const from = typeof since === 'string' ? normaliseTime(since) : since;
  const start = from === undefined ? undefined : { seq: typeof from === 'number' ? from : await seqAtOrBefore(listSegments(journalDir), from) };
  const chain = new ChainChecker(null);
  const bad = (file: string, line: number, seq: number, id: string | null, message: string): LedgerError =>
    new LedgerError('corrupt', `the ledger in ${dataDir} cannot be trusted: ${describeProblem({ seq, id, file, line, message })}. ${verifyHint(dataDir)}`);
  let file = '';
  let lineNo = 0;
  for await (const line of scanJournal(journalDir, start)) {
    if (line.segment.file !== file) {
      file = line.segment.file;
      lineNo = 0;
    }
    lineNo++;
    const r = line.record;
    const expected = (chain.last?.seq ?? 0) + 1;
    if (!r) throw bad(file, lineNo, expected, null, `unreadable line (${line.problem ?? 'bad'})`);
    if (r.seq > head.seq) break;
    const problem = chain.check(r, r.seq >= checkedFrom);
    if (problem) throw bad(file, lineNo, r.seq, typeof r.id === 'string' ? r.id : null, problem);
    if (from === undefined || !before(r, from)) yield r;
    if (r.seq === head.seq) {
      if (r.hash !== head.hash) throw bad(file, lineNo, r.seq, r.id, `record seq ${r.seq} does not match the signed head`);
      return;
    }
  }
  const lastSeq = chain.last?.seq ?? 0;
  throw bad(file, lineNo, lastSeq + 1, null, `the journal ends at seq ${lastSeq} but the signed head names seq ${head.seq}: acknowledged records are missing`);
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
