import type { KeyObject } from 'node:crypto';
import type { AuditRecord } from '../../contracts/audit-records';
import { GENESIS_HASH } from '../../contracts/audit-records';
import { headBytes } from './head';
import { canonicalRecordJson } from './canonical';
import { sha256HexOfText, verifySignature } from './signer';

/*
 * The rules a run of records obeys, in one place, so `audit verify`, the proxy's start and the
 * witness checks judge a record the same way: its hash matches its content, its signature holds
 * (when a key is given), seqs run on without a gap, each `prev` names the hash before, and times
 * and ids only grow. The first record checked is taken as it is (only seq 1 must link to the
 * genesis hash): whoever starts mid-chain vouches for that record some other way (a signed head or
 * witness that the chain reaches, a checkpoint).
 *
 * Signatures. A record's `sig` is either a commit signature (the last record of each group
 * commit: Ed25519 over headBytes (head.ts), the same domain-separated bytes the signed head signs, naming
 * the record's seq, hash and time and the ledger's identity) or, in ledgers written before
 * signing per commit, a record signature (over the record's canonical bytes, on every record).
 * Either way the signed hash commits through `prev` to every record before it, so a record is
 * covered once a later record's signature holds or the signed head names a record at or after
 * it; a record with `sig: null` is covered by whatever comes after it. The checker tracks the
 * first record no signature covers yet, for its callers to judge against the head.
 */

export interface SignatureCheck {
  publicKey: KeyObject;
  /** The ledger's identity from its signed head (null for a ledger made before identities). */
  ledger: string | null;
  /** Also accept record signatures (every record signed, as ledgers written before per-commit signing are). */
  recordSignatures: boolean;
}

export class ChainChecker {
  private previous: AuditRecord | null = null;
  private unsigned: AuditRecord | null = null;
  /** Which form held last: a ledger uses one form throughout, or switches once. */
  private lastForm: 'commit' | 'record' = 'commit';

  /** With null only hashes and links are checked (see reader.ts for why that suffices at start). */
  constructor(private readonly signatures: SignatureCheck | null) {}

  /** The last record that passed. */
  get last(): AuditRecord | null {
    return this.previous;
  }

  /** The first record passed since the last valid signature: not covered yet (with a key only). */
  get firstUncovered(): AuditRecord | null {
    return this.unsigned;
  }

  /** Continues the chain after `r`, vouched for by the caller (e.g. the record the signed head names). */
  follow(r: AuditRecord): void {
    this.previous = r;
    this.unsigned = null;
  }

  /**
   * Null when `r` is sound and follows the last record that passed; else why not, naming the
   * record. `known`: this process checked the record's hash a moment ago (opening the ledger), so
   * only its place in the chain is checked now.
   */
  check(r: AuditRecord, known = false): string | null {
    if (!known) {
      const text = canonicalRecordJson(r);
      if (sha256HexOfText(text) !== r.hash) return `${recordLabel(r)} was edited: its content does not match its hash`;
      if (this.signatures && r.sig !== null && r.sig !== undefined && !this.signatureHolds(r, text, this.signatures)) {
        return `${recordLabel(r)} has an invalid signature (forged or signed by another key)`;
      }
    }
    const problem = this.linkProblem(r);
    if (problem) return problem;
    this.previous = r;
    if (this.signatures) {
      if (r.sig !== null && r.sig !== undefined && !known) this.unsigned = null;
      else this.unsigned ??= r;
    }
    return null;
  }

  private linkProblem(r: AuditRecord): string | null {
    const prev = this.previous;
    if (prev) {
      const expected = prev.seq + 1;
      const label = recordLabel(r);
      if (r.seq > expected) return `${label} follows seq ${prev.seq}: record${r.seq - expected > 1 ? `s ${expected}..${r.seq - 1} are` : ` ${expected} is`} missing (deleted)`;
      if (r.seq < expected) return `${label} is out of place after seq ${prev.seq} (inserted, duplicated or reordered)`;
      if (r.prev !== prev.hash) return `${label} does not link to the record before it (prev hash mismatch)`;
      if (r.time < prev.time) return `${label} is dated before the record before it (reordered)`;
      if (r.id <= prev.id) return `${label} has an id that does not sort after the one before it`;
    } else if (r.seq === 1 && r.prev !== GENESIS_HASH) {
      return `${recordLabel(r)} is the first record but does not link to the genesis hash`;
    }
    return null;
  }

  private signatureHolds(r: AuditRecord, text: string, s: SignatureCheck): boolean {
    if (typeof r.sig !== 'string') return false;
    const sig = r.sig;
    const commit = (): boolean => commitSignatureHolds(s.publicKey, r, s.ledger);
    const record = (): boolean => s.recordSignatures && verifySignature(s.publicKey, Buffer.from(text, 'utf8'), sig);
    // Try the form that held last first, so a ledger of either kind costs one check per signature.
    const [first, second] = this.lastForm === 'commit' ? [commit, record] : [record, commit];
    if (first()) return true;
    if (!second()) return false;
    this.lastForm = this.lastForm === 'commit' ? 'record' : 'commit';
    return true;
  }
}

/** Whether `r.sig` is this ledger's commit signature over `r` (see head.ts, headBytes). */
export function commitSignatureHolds(publicKey: KeyObject, r: AuditRecord, ledger: string | null): boolean {
  return typeof r.sig === 'string' && verifySignature(publicKey, headBytes({ seq: r.seq, hash: r.hash, time: r.time }, ledger), r.sig);
}

export function recordLabel(r: AuditRecord): string {
  return `record seq ${r.seq}${typeof r.id === 'string' ? ` (id ${r.id})` : ''}`;
}
