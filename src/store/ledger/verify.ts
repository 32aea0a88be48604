import type { KeyObject } from 'node:crypto';
import { ChainChecker, recordLabel } from './chain';
import { readHead } from './head';
import type { AuditRecord } from '../../contracts/audit-records';
import { isCheckpoint } from '../../contracts/audit-records';
import { ledgerPaths, scanJournal } from './segments';

/*
 * Checks a ledger without trusting the machine it came from (given the public key from
 * elsewhere): every line parses, every hash matches its record, every signature holds and every
 * record is covered by one (chain.ts: a later signed record or the signed head), seqs run
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

/** `first bad record seq N (id ...) at FILE:LINE: why`, as `audit verify` prints it. */
export function describeProblem(p: VerifyProblem): string {
  const where = p.line ? `${p.file}:${p.line}` : p.file;
  return `first bad record seq ${p.seq}${p.id ? ` (id ${p.id})` : ''} at ${where}: ${p.message}`;
}

export interface VerifyResult {
  ok: boolean;
  records: number;
  firstSeq: number | null;
  lastSeq: number | null;
  head: { seq: number; hash: string } | null;
  /** Lines after the last record a signature covers that are not records: a write a crash cut short. */
  unacknowledged: number;
  problem: VerifyProblem | null;
  /** The ledger's identity, from its signed head. */
  ledger: string | null;
  /** For judging witnesses (witness.ts): the checked hash of a seq asked for, 'pruned', or undefined. */
  hashAt(seq: number): string | 'pruned' | undefined;
}

export interface VerifyOptions {
  /** Seqs whose checked hashes the result keeps (the seqs of the witnesses given). */
  witnessSeqs?: readonly number[];
}

export async function verifyLedger(dataDir: string, publicKey: KeyObject, options: VerifyOptions = {}): Promise<VerifyResult> {
  const paths = ledgerPaths(dataDir);
  // The head is read before the journal: it only ever names records already in the journal.
  const { head, forged } = readHead(paths.head, publicKey);
  const wanted = new Set(options.witnessSeqs ?? []);
  const hashes = new Map<number, string>();
  let pruned: { seq: number; hash: string } | null = null;
  const hashAt = (seq: number): string | 'pruned' | undefined => hashes.get(seq) ?? (pruned && seq <= pruned.seq ? (seq === pruned.seq ? pruned.hash : 'pruned') : undefined);
  const result: VerifyResult = {
    ok: false, records: 0, firstSeq: null, lastSeq: null, head: head ? { seq: head.seq, hash: head.hash } : null, unacknowledged: 0, problem: null,
    ledger: head?.ledger ?? null, hashAt,
  };
  const fail = (seq: number, id: string | null, file: string, line: number, message: string): VerifyResult => {
    result.problem = { seq, id, file, line, message };
    return result;
  };
  if (forged) return fail(head?.seq ?? 0, null, paths.head, 0, `the signed head was altered: ${forged}`);

  const chain = new ChainChecker({ publicKey, ledger: head?.ledger ?? null, recordSignatures: true });
  const headSeq = head?.seq ?? 0;
  let first: AuditRecord | null = null;
  let vouched = false; // a checkpoint names the record before the first one kept
  let headHash: string | null = null;
  let uncoveredAt = { file: '', line: 0 };
  let lineNo = 0;
  let lastFile = '';
  let torn = false;
  for await (const line of scanJournal(paths.journal)) {
    if (line.segment.file !== lastFile) {
      lastFile = line.segment.file;
      lineNo = 0;
    }
    lineNo++;
    const prev = chain.last;
    const pastHead = head !== null && (prev?.seq ?? 0) >= head.seq;
    if (torn) {
      result.unacknowledged++;
      continue;
    }
    const r = line.record;
    // Without the head there is no ledger identity to check commit signatures against either.
    if (r && !head) return fail(r.seq, typeof r.id === 'string' ? r.id : null, paths.head, 0, 'the signed head is missing, so a cut-off tail cannot be ruled out');
    if (!r) {
      if (!line.complete && !head) break;
      // A write a crash cut short, past every acknowledged record: the next start cuts it off.
      if (pastHead && !line.complete) {
        torn = true;
        result.unacknowledged++;
        continue;
      }
      return fail(prev ? prev.seq + 1 : 1, null, line.segment.file, lineNo, `unreadable line (${line.problem ?? 'bad'})`);
    }
    // Past the head the records are checked as before it: a commit the head has not caught up
    // with is acknowledged once its signed record is on disk (journal.ts).
    const problem = chain.check(r);
    if (problem) return fail(r.seq, typeof r.id === 'string' ? r.id : null, line.segment.file, lineNo, problem);
    if (chain.firstUncovered === r) uncoveredAt = { file: line.segment.file, line: lineNo };
    if (!first) {
      first = r;
      vouched = r.seq === 1;
      if (r.seq > 1) pruned = { seq: r.seq - 1, hash: r.prev };
    }
    if (wanted.has(r.seq)) hashes.set(r.seq, r.hash);
    if (!vouched && isCheckpoint(r) && r.pruned.last_seq === first.seq - 1 && r.pruned.last_hash === first.prev) vouched = true;
    if (head && r.seq === head.seq) headHash = r.hash;
    result.records++;
  }
  const prev = chain.last;
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
  const uncovered = chain.firstUncovered;
  if (uncovered && uncovered.seq > headSeq) {
    return fail(
      uncovered.seq, uncovered.id, uncoveredAt.file, uncoveredAt.line,
      `${recordLabel(uncovered)} is not covered by any signature: no signed record follows it and the signed head names seq ${headSeq} (a commit cut short by a crash, which the next start cuts off, or records appended by someone else)`,
    );
  }
  result.ok = true;
  return result;
}
