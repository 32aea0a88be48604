import { randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import { canonicalJson } from './canonical';
import { LedgerError } from './errors';
import type { LedgerIo } from './io';
import type { Signer } from './signer';
import { verifySignature } from './signer';

/**
 * The signed head names the last committed record (seq and hash). Without it, cutting records
 * off the end of the journal leaves a perfectly valid shorter chain; with it, verify sees the cut.
 *
 * Its signature is the one the record it names carries: the last record of each group commit is
 * signed over headBytes (seq, hash, time, the ledger's identity), and the head written after that
 * commit reuses that signature, so a commit costs one Ed25519 signature, not one per record plus
 * one for the head. The journal's commit is acknowledged once it is on disk with its signed record
 * (journal.ts); the head is written after, off the acknowledgement path, and may lag the journal
 * by the commits since (see journal.ts for what a lagging head can and cannot catch).
 *
 * Two fixed 512-byte slots, written alternately in place with one data sync each: a write torn by
 * a crash spoils at most one slot and the other still holds the previous head, so no rename and
 * no directory fsync are needed.
 *
 * Every head also names the ledger's identity, drawn at random when the ledger is created (its
 * genesis head, seq 0) and signed into every head after it. A ledger deleted and created afresh
 * gets another one, so a witness (witness.ts) can tell it from the ledger it saw, even before the
 * new one has grown as long.
 */
export interface HeadState {
  seq: number;
  hash: string;
  time: string | null;
}

export interface SignedHead extends HeadState {
  sig: string;
  /** The ledger's identity; null in a head written before ledgers had one. */
  ledger: string | null;
}

const SLOT = 512;
const DOMAIN = 'tollgate-ledger-head/1';

/**
 * What a head's signature covers, and a commit's signed record's too. A head without an identity
 * signs the same bytes as before identities existed.
 */
export function headBytes(h: HeadState, ledger: string | null): Buffer {
  return Buffer.from(canonicalJson({ domain: DOMAIN, seq: h.seq, hash: h.hash, time: h.time, ledger: ledger ?? undefined }), 'utf8');
}

/** A new ledger's identity: 128 random bits, hex. */
export function newLedgerId(): string {
  return randomBytes(16).toString('hex');
}

export interface HeadRead {
  head: SignedHead | null;
  /** A slot that parses but does not verify: someone edited it. */
  forged: string | null;
}

/** Reads the newest valid slot; with a null key signatures are not checked (export only needs the seq). */
export function readHead(file: string, publicKey: KeyObject | null): HeadRead {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { head: null, forged: null };
    throw err;
  }
  let best: SignedHead | null = null;
  let forged: string | null = null;
  const ledgers = new Set<string>();
  for (let slot = 0; slot * SLOT < data.length; slot++) {
    let parsed: Partial<SignedHead>;
    try {
      parsed = JSON.parse(data.toString('utf8', slot * SLOT, (slot + 1) * SLOT)) as Partial<SignedHead>;
    } catch {
      continue; // torn slot: a crash mid-write; the other slot holds the previous head
    }
    if (typeof parsed.seq !== 'number' || typeof parsed.hash !== 'string' || typeof parsed.sig !== 'string') continue;
    const head: SignedHead = { seq: parsed.seq, hash: parsed.hash, time: parsed.time ?? null, sig: parsed.sig, ledger: typeof parsed.ledger === 'string' ? parsed.ledger : null };
    if (publicKey && !verifySignature(publicKey, headBytes(head, head.ledger), head.sig)) {
      forged = `head slot ${slot} (seq ${head.seq}) has an invalid signature`;
      continue;
    }
    if (head.ledger) ledgers.add(head.ledger);
    if (!best || head.seq > best.seq) best = head;
  }
  if (ledgers.size > 1) forged = `the head's slots name different ledgers (${[...ledgers].join(' and ')})`;
  return { head: best, forged };
}

export class HeadWriter {
  private nextSlot = 0;
  private constructor(
    private readonly fd: number,
    private readonly signer: Signer,
    /** The identity every head this writer signs names. */
    readonly ledger: string,
  ) {}

  static open(file: string, signer: Signer, current: SignedHead | null, ledger: string): HeadWriter {
    const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    const writer = new HeadWriter(fd, signer, ledger);
    // Overwrite the slot that does not hold the current head first.
    if (current) {
      const data = fs.readFileSync(file);
      const inSlot0 = data.length >= SLOT && data.toString('utf8', 0, SLOT).includes(current.sig);
      writer.nextSlot = inSlot0 ? 1 : 0;
    }
    return writer;
  }

  /** The signature a head naming `state` carries, and the record at `state` when it ends a commit. */
  sign(state: HeadState): string {
    return this.signer.sign(headBytes(state, this.ledger));
  }

  private encode(state: HeadState, sig: string): Buffer {
    const signed: SignedHead = { seq: state.seq, hash: state.hash, time: state.time, ledger: this.ledger, sig };
    const buf = Buffer.alloc(SLOT, 0x20);
    const text = JSON.stringify(signed);
    if (text.length >= SLOT) throw new LedgerError('invalid', 'head record too large');
    buf.write(text, 0, 'utf8');
    buf[SLOT - 1] = 10;
    return buf;
  }

  /**
   * Writes a head naming `state` into the older slot. `sig`: the signature of the record at
   * `state` (sign()), reused. `sync` false leaves the data sync to a later sync() call.
   */
  async write(state: HeadState, io: LedgerIo, sig: string = this.sign(state), sync = true): Promise<void> {
    const slot = this.nextSlot;
    await io.write(this.fd, this.encode(state, sig), slot * SLOT);
    if (sync) await io.fsync(this.fd);
    this.nextSlot = 1 - slot;
  }

  async sync(io: LedgerIo): Promise<void> {
    await io.fsync(this.fd);
  }

  /** After a failed write the slot's content is unknown: make both slots name `state`. */
  async writeBoth(state: HeadState, io: LedgerIo): Promise<void> {
    const buf = this.encode(state, this.sign(state));
    await io.write(this.fd, Buffer.concat([buf, buf]), 0);
    await io.fsync(this.fd);
    this.nextSlot = 0;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
