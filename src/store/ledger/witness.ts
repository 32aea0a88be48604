import { createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { ChainChecker } from './chain';
import { LedgerError, verifyHint } from './errors';
import { headBytes, readHead } from './head';
import type { AuditRecord } from '../../contracts/audit-records';
import { GENESIS_HASH } from '../../contracts/audit-records';
import { ledgerPaths, scanJournal } from './segments';
import { dataDirPublicKey, keyFingerprint, publicKeyPem, verifySignature } from './signer';
import { describeProblem } from './verify';

/*
 * Witnesses: rollback protection. The signed head stops a cut tail only while the head itself
 * is not rolled back with it, and everything in the data dir can be: a zeroed head slot, a deleted
 * and recreated ledger, an old copy restored. A witness is a copy of the signed head kept where
 * that rollback does not reach (a file elsewhere, the editor's global storage, Redis in team
 * mode). A ledger extends a witness when it is the same ledger (identity and key), its signed
 * head is at or past the witnessed seq, and the record at that seq still has the witnessed hash:
 * the chain after it commits to it, so nothing up to that point can have been rewritten.
 */

export const WITNESS_FORMAT = 'tollgate-ledger-witness/1';

/** A ledger's signed head, with the key that signed it, as `tollgate audit checkpoint` prints it. */
export interface Witness {
  readonly format: typeof WITNESS_FORMAT;
  /** The ledger's identity (head.ts); null for a ledger made before identities. */
  readonly ledger: string | null;
  readonly seq: number;
  readonly hash: string;
  /** The time of the record at `seq` (null for an empty ledger). */
  readonly time: string | null;
  /** The head's Ed25519 signature (base64) over its canonical form (head.ts). */
  readonly sig: string;
  /** keyFingerprint of the signing key. */
  readonly key_id: string;
  /** The signing key's public half (PEM), so the witness can be checked on its own. */
  readonly public_key: string;
}

/**
 * Where a proxy keeps its latest witness outside its data dir (Redis in team mode). `place` names
 * the proxy's ledger: its host and data dir, so a ledger deleted and created afresh in the same
 * place finds the witness of the one it replaced.
 */
export interface WitnessStore {
  latest(place: string): Promise<Witness | null>;
  /** Keeps `w` unless the store holds a newer head of the same ledger. */
  keep(place: string, w: Witness): Promise<void>;
  /** Where `place`'s witness lives, for messages (e.g. a Redis key). */
  describe(place: string): string;
}

export type WitnessVerdict = { readonly ok: true; readonly note: string | null } | { readonly ok: false; readonly problem: string };

/** What is known of a ledger, once checked, to judge a witness against. */
export interface LedgerFacts {
  readonly keyId: string;
  readonly ledger: string | null;
  readonly headSeq: number;
  /** The checked hash of the record at `seq`; 'pruned' when prune removed it; undefined when it is not there. */
  hashAt(seq: number): string | 'pruned' | undefined;
}

/** The data dir's signed head as a witness. Throws LedgerError 'missing' when there is no ledger, 'corrupt' when the head does not verify. */
export function readCheckpoint(dataDir: string, publicKey: KeyObject = dataDirPublicKey(dataDir)): Witness {
  const paths = ledgerPaths(dataDir);
  const { head, forged } = readHead(paths.head, publicKey);
  if (forged) throw new LedgerError('corrupt', `${paths.head}: ${forged}. ${verifyHint(dataDir)}`);
  if (!head) throw new LedgerError('missing', `there is no ledger in ${dataDir} (no signed head at ${paths.head})`);
  return { format: WITNESS_FORMAT, ledger: head.ledger, seq: head.seq, hash: head.hash, time: head.time, sig: head.sig, key_id: keyFingerprint(publicKey), public_key: publicKeyPem(publicKey) };
}

/** Reads a witness from its JSON text; `source` names it in the error. */
export function parseWitness(text: string, source: string): Witness {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new LedgerError('invalid', `${source} is not a ledger witness: ${(err as Error).message}`);
  }
  const w = (typeof value === 'object' && value !== null ? value : {}) as Partial<Record<keyof Witness, unknown>>;
  const fine =
    w.format === WITNESS_FORMAT &&
    (w.ledger === null || typeof w.ledger === 'string') &&
    Number.isInteger(w.seq) && (w.seq as number) >= 0 &&
    typeof w.hash === 'string' &&
    (w.time === null || typeof w.time === 'string') &&
    typeof w.sig === 'string' && typeof w.key_id === 'string' && typeof w.public_key === 'string';
  if (!fine) throw new LedgerError('invalid', `${source} is not a ledger witness (${WITNESS_FORMAT}: format, ledger, seq, hash, time, sig, key_id, public_key)`);
  return w as Witness;
}

/** Null when the witness is what it says: its key matches its key id and its signature holds. */
export function witnessSignatureProblem(w: Witness): string | null {
  let key: KeyObject;
  try {
    key = createPublicKey(w.public_key);
  } catch {
    return 'its public key is unreadable';
  }
  if (keyFingerprint(key) !== w.key_id) return 'its key id does not match its public key';
  if (!verifySignature(key, headBytes({ seq: w.seq, hash: w.hash, time: w.time }, w.ledger), w.sig)) return 'its signature does not hold (the witness was edited, or is not a signed head)';
  return null;
}

/** Whether a checked ledger extends a witness, and if not, why, in words that name the rollback. */
export function judgeWitness(w: Witness, facts: LedgerFacts): WitnessVerdict {
  const bad = witnessSignatureProblem(w);
  if (bad) return { ok: false, problem: bad };
  if (w.key_id !== facts.keyId) {
    return { ok: false, problem: `it was signed by key ${w.key_id}, but this ledger's key is ${facts.keyId}: the signing key was replaced (a new or replaced data dir)` };
  }
  if (w.ledger !== null && facts.ledger !== w.ledger) {
    return { ok: false, problem: `it names ledger ${w.ledger}, but the data dir holds ledger ${facts.ledger ?? '(without an identity)'}: the ledger was deleted and created afresh, or replaced` };
  }
  if (facts.headSeq < w.seq) {
    const gone = w.seq - facts.headSeq > 1 ? `records ${facts.headSeq + 1}..${w.seq} are` : `record ${w.seq} is`;
    return { ok: false, problem: `the ledger's signed head is at seq ${facts.headSeq}, before the witnessed seq ${w.seq}: ${gone} gone (a cut tail, a zeroed or older head, or an older copy of the data dir)` };
  }
  const at = w.seq === 0 ? GENESIS_HASH : facts.hashAt(w.seq);
  if (at === 'pruned') return { ok: true, note: `seq ${w.seq} has been pruned since; a signed checkpoint stands for it` };
  if (at === undefined) return { ok: false, problem: `record seq ${w.seq} is not in the journal` };
  if (at !== w.hash) {
    return { ok: false, problem: `record seq ${w.seq} has hash ${at.slice(0, 16)}..., but the witness names ${w.hash.slice(0, 16)}...: the ledger was rewritten from there on, or replaced` };
  }
  return { ok: true, note: null };
}

/**
 * Checks that the ledger in `dataDir` extends `w`, reading only from the witnessed record to the
 * signed head: each record on the way is checked (hash, signature, link, see chain.ts) and the last
 * must be the head. Cheap when the witness is recent, which is how the editor and team mode use it.
 */
export async function checkExtends(dataDir: string, w: Witness, publicKey: KeyObject = dataDirPublicKey(dataDir)): Promise<WitnessVerdict> {
  const paths = ledgerPaths(dataDir);
  const { head, forged } = readHead(paths.head, publicKey);
  if (forged) return { ok: false, problem: `the ledger's signed head was altered: ${forged}` };
  if (!head) return { ok: false, problem: `there is no ledger in ${dataDir} any more (no signed head): it was deleted` };
  const facts = { keyId: keyFingerprint(publicKey), ledger: head.ledger, headSeq: head.seq };
  const early = judgeWitness(w, { ...facts, hashAt: () => w.hash });
  if (!early.ok || w.seq === 0) return early;

  const chain = new ChainChecker({ publicKey, ledger: head.ledger, recordSignatures: true });
  let first: AuditRecord | null = null;
  let witnessed: string | undefined;
  let file = '';
  let lineNo = 0;
  for await (const line of scanJournal(paths.journal, { seq: w.seq })) {
    if (line.segment.file !== file) {
      file = line.segment.file;
      lineNo = 0;
    }
    lineNo++;
    const r = line.record;
    if (r && r.seq < w.seq) continue;
    if (!r) return { ok: false, problem: describeProblem({ seq: (chain.last?.seq ?? w.seq - 1) + 1, id: null, file, line: lineNo, message: `unreadable line (${line.problem ?? 'bad'})` }) };
    first ??= r;
    const problem = chain.check(r);
    if (problem) return { ok: false, problem: describeProblem({ seq: r.seq, id: typeof r.id === 'string' ? r.id : null, file, line: lineNo, message: problem }) };
    if (r.seq === w.seq) witnessed = r.hash;
    if (r.seq === head.seq) break;
  }
  const last = chain.last;
  if (!first || last?.seq !== head.seq || last.hash !== head.hash) {
    return { ok: false, problem: `the journal does not reach the signed head (seq ${head.seq}) from the witnessed seq ${w.seq}. ${verifyHint(dataDir)}` };
  }
  // A witnessed record pruned since: the first record kept links to the last one pruned.
  const kept = first;
  const pruned = (): string => (kept.seq - 1 === w.seq ? kept.prev : 'pruned');
  return judgeWitness(w, { ...facts, hashAt: () => witnessed ?? (kept.seq > w.seq ? pruned() : undefined) });
}
