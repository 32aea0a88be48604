import type { KeyObject } from 'node:crypto';
import { readHead } from './head';
import type { AuditRecord } from './records';
import { GENESIS_HASH, isCheckpoint } from './records';
import { ledgerPaths, scanJournal } from './segments';
import { recordBytes, sha256Hex, verifySignature } from './signer';

/*
 * Checks a ledger without trusting the machine it came from (given the public key from
 * elsewhere): every line parses, every hash matches its record, every signature holds, seqs run
 * 1, 2, 3... with each prev naming the hash before, ids and times only grow, the first record is
 * the genesis or is vouched for by a signed checkpoint, and the journal reaches the signed head.
 * It reads the journal through the same scanner export uses, up to the same head.
 */

export interface VerifyProblem {
  /** The first bad record's seq (or the seq expected at that place when the line is unreadable). */
  seq: number;
  id: string | null;
  file: string;
  line: number;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  records: number;
  firstSeq: number | null;
  lastSeq: number | null;
  head: { seq: number; hash: string } | null;
  /** Lines after the signed head: written by a process that crashed before acknowledging them. */
  unacknowledged: number;
  problem: VerifyProblem | null;
}

export async function verifyLedger(dataDir: string, publicKey: KeyObject): Promise<VerifyResult> {
  const paths = ledgerPaths(dataDir);
  // The head is read before the journal: it only ever names records already in the journal.
  const { head, forged } = readHead(paths.head, publicKey);
  const result: VerifyResult = { ok: false, records: 0, firstSeq: null, lastSeq: null, head: head ? { seq: head.seq, hash: head.hash } : null, unacknowledged: 0, problem: null };
  const fail = (seq: number, id: string | null, file: string, line: number, message: string): VerifyResult => {
    result.problem = { seq, id, file, line, message };
    return result;
  };
  if (forged) return fail(head?.seq ?? 0, null, paths.head, 0, `the signed head was altered: ${forged}`);

  let prev: AuditRecord | null = null;
  let first: AuditRecord | null = null;
  let vouched = false; // a checkpoint names the record before the first one kept
  let headHash: string | null = null;
  let lineNo = 0;
  let lastFile = '';
  for await (const line of scanJournal(paths.journal)) {
    if (line.segment.file !== lastFile) {
      lastFile = line.segment.file;
      lineNo = 0;
    }
    lineNo++;
    const expected = prev ? prev.seq + 1 : 1;
    if (head && (prev?.seq ?? 0) >= head.seq) {
      result.unacknowledged++;
      continue;
    }
    const r = line.record;
    const where = (rec: AuditRecord | null): [string | null, string, number] => [rec?.id ?? null, line.segment.file, lineNo];
    if (!r) {
      if (!line.complete && !head) break;
      return fail(expected, ...where(null), `unreadable line (${line.problem ?? 'bad'})`);
    }
    const label = `record seq ${r.seq}${typeof r.id === 'string' ? ` (id ${r.id})` : ''}`;
    const bytes = recordBytes(r);
    if (sha256Hex(bytes) !== r.hash) return fail(r.seq, ...where(r), `${label} was edited: its content does not match its hash`);
    if (typeof r.sig !== 'string' || !verifySignature(publicKey, bytes, r.sig)) return fail(r.seq, ...where(r), `${label} has an invalid signature (forged or signed by another key)`);
    if (prev) {
      if (r.seq > expected) return fail(r.seq, ...where(r), `${label} follows seq ${prev.seq}: record${r.seq - expected > 1 ? `s ${expected}..${r.seq - 1} are` : ` ${expected} is`} missing (deleted)`);
      if (r.seq < expected) return fail(r.seq, ...where(r), `${label} is out of place after seq ${prev.seq} (inserted, duplicated or reordered)`);
      if (r.prev !== prev.hash) return fail(r.seq, ...where(r), `${label} does not link to the record before it (prev hash mismatch)`);
      if (r.time < prev.time) return fail(r.seq, ...where(r), `${label} is dated before the record before it (reordered)`);
      if (r.id <= prev.id) return fail(r.seq, ...where(r), `${label} has an id that does not sort after the one before it`);
    } else {
      first = r;
      vouched = r.seq === 1 && r.prev === GENESIS_HASH;
      if (r.seq === 1 && r.prev !== GENESIS_HASH) return fail(r.seq, ...where(r), `${label} is the first record but does not link to the genesis hash`);
    }
    if (!vouched && first && isCheckpoint(r) && r.pruned.last_seq === first.seq - 1 && r.pruned.last_hash === first.prev) vouched = true;
    if (head && r.seq === head.seq) headHash = r.hash;
    prev = r;
    result.records++;
  }
  result.firstSeq = first?.seq ?? null;
  result.lastSeq = prev?.seq ?? null;
  if (first && !vouched) {
    return fail(first.seq, first.id, paths.journal, 1, `record seq ${first.seq} (id ${first.id}) is the first record kept, but records 1..${first.seq - 1} are missing and no signed checkpoint stands for them`);
  }
  if (!head) {
    if (prev) return fail(prev.seq, prev.id, paths.head, 0, 'the signed head is missing, so a cut-off tail cannot be ruled out');
  } else if ((prev?.seq ?? 0) < head.seq) {
    const lastSeq = prev?.seq ?? 0;
    return fail(lastSeq + 1, null, paths.journal, 0, `the journal ends at seq ${lastSeq} but the signed head names seq ${head.seq}: record${head.seq - lastSeq > 1 ? `s ${lastSeq + 1}..${head.seq} were` : ` ${head.seq} was`} cut off (truncated)`);
  } else if (head.seq > 0 && headHash !== head.hash) {
    return fail(head.seq, null, paths.head, 0, `record seq ${head.seq} does not match the signed head`);
  }
  result.ok = true;
  return result;
}
