import type { KeyObject } from 'node:crypto';
import type { AuditRecord } from '../../contracts/audit-records';
import { GENESIS_HASH } from '../../contracts/audit-records';
import { recordBytes, sha256Hex, verifySignature } from './signer';

/*
 * The rules a run of records obeys, in one place, so `audit verify`, the proxy's start and the
 * witness checks judge a record the same way: its hash matches its content, its signature holds
 * (when a key is given), seqs run on without a gap, each `prev` names the hash before, and times
 * and ids only grow. The first record checked is taken as it is (only seq 1 must link to the
 * genesis hash): whoever starts mid-chain vouches for that record some other way (a signed head or
 * witness that the chain reaches, a checkpoint).
 */

export class ChainChecker {
  private previous: AuditRecord | null = null;

  /** With a null key only hashes and links are checked (see reader.ts for why that suffices at start). */
  constructor(private readonly publicKey: KeyObject | null) {}

  /** The last record that passed. */
  get last(): AuditRecord | null {
    return this.previous;
  }

  /**
   * Null when `r` is sound and follows the last record that passed; else why not, naming the
   * record. `known`: this process checked the record's hash a moment ago (opening the ledger), so
   * only its place in the chain is checked now.
   */
  check(r: AuditRecord, known = false): string | null {
    const label = recordLabel(r);
    if (!known) {
      const bytes = recordBytes(r);
      if (sha256Hex(bytes) !== r.hash) return `${label} was edited: its content does not match its hash`;
      if (this.publicKey && (typeof r.sig !== 'string' || !verifySignature(this.publicKey, bytes, r.sig))) {
        return `${label} has an invalid signature (forged or signed by another key)`;
      }
    }
    const prev = this.previous;
    if (prev) {
      const expected = prev.seq + 1;
      if (r.seq > expected) return `${label} follows seq ${prev.seq}: record${r.seq - expected > 1 ? `s ${expected}..${r.seq - 1} are` : ` ${expected} is`} missing (deleted)`;
      if (r.seq < expected) return `${label} is out of place after seq ${prev.seq} (inserted, duplicated or reordered)`;
      if (r.prev !== prev.hash) return `${label} does not link to the record before it (prev hash mismatch)`;
      if (r.time < prev.time) return `${label} is dated before the record before it (reordered)`;
      if (r.id <= prev.id) return `${label} has an id that does not sort after the one before it`;
    } else if (r.seq === 1 && r.prev !== GENESIS_HASH) {
      return `${label} is the first record but does not link to the genesis hash`;
    }
    this.previous = r;
    return null;
  }
}

export function recordLabel(r: AuditRecord): string {
  return `record seq ${r.seq}${typeof r.id === 'string' ? ` (id ${r.id})` : ''}`;
}
