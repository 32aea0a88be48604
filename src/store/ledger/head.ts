import type { KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import { canonicalJson } from './canonical';
import { LedgerError } from './errors';
import type { LedgerIo } from './io';
import type { Signer } from './signer';
import { verifySignature } from './signer';

/**
 * The signed head names the last acknowledged record (seq and hash). Without it, cutting records
 * off the end of the journal leaves a perfectly valid shorter chain; with it, verify sees the cut.
 * The ledger resolves `durable` only once a head covering the record is on disk, so every record a
 * client was told about is at or before the head, and anything after the head was never
 * acknowledged and may be cut off after a crash.
 *
 * Two fixed 512-byte slots, written alternately in place with one data sync each: a write torn by
 * a crash spoils at most one slot and the other still holds the previous head, so no rename and
 * no directory fsync are needed.
 */
export interface HeadState {
  seq: number;
  hash: string;
  time: string | null;
}

export interface SignedHead extends HeadState {
  sig: string;
}

const SLOT = 512;
const DOMAIN = 'tollgate-ledger-head/1';

function headBytes(h: HeadState): Buffer {
  return Buffer.from(canonicalJson({ domain: DOMAIN, seq: h.seq, hash: h.hash, time: h.time }), 'utf8');
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
  for (let slot = 0; slot * SLOT < data.length; slot++) {
    let parsed: SignedHead;
    try {
      parsed = JSON.parse(data.toString('utf8', slot * SLOT, (slot + 1) * SLOT)) as SignedHead;
    } catch {
      continue; // torn slot: a crash mid-write; the other slot holds the previous head
    }
    if (typeof parsed.seq !== 'number' || typeof parsed.hash !== 'string' || typeof parsed.sig !== 'string') continue;
    if (publicKey && !verifySignature(publicKey, headBytes(parsed), parsed.sig)) {
      forged = `head slot ${slot} (seq ${parsed.seq}) has an invalid signature`;
      continue;
    }
    if (!best || parsed.seq > best.seq) best = { seq: parsed.seq, hash: parsed.hash, time: parsed.time ?? null, sig: parsed.sig };
  }
  return { head: best, forged };
}

export class HeadWriter {
  private nextSlot = 0;
  private constructor(private readonly fd: number, private readonly signer: Signer) {}

  static open(file: string, signer: Signer, current: SignedHead | null): HeadWriter {
    const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    const writer = new HeadWriter(fd, signer);
    // Overwrite the slot that does not hold the current head first.
    if (current) {
      const data = fs.readFileSync(file);
      const inSlot0 = data.length >= SLOT && data.toString('utf8', 0, SLOT).includes(current.sig);
      writer.nextSlot = inSlot0 ? 1 : 0;
    }
    return writer;
  }

  private encode(state: HeadState): Buffer {
    const signed: SignedHead = { ...state, sig: this.signer.sign(headBytes(state)) };
    const buf = Buffer.alloc(SLOT, 0x20);
    const text = JSON.stringify(signed);
    if (text.length >= SLOT) throw new LedgerError('invalid', 'head record too large');
    buf.write(text, 0, 'utf8');
    buf[SLOT - 1] = 10;
    return buf;
  }

  async write(state: HeadState, io: LedgerIo): Promise<void> {
    const slot = this.nextSlot;
    await io.write(this.fd, this.encode(state), slot * SLOT);
    await io.fsync(this.fd);
    this.nextSlot = 1 - slot;
  }

  /** After a failed write the slot's content is unknown: make both slots name `state`. */
  async writeBoth(state: HeadState, io: LedgerIo): Promise<void> {
    const buf = this.encode(state);
    await io.write(this.fd, Buffer.concat([buf, this.encode(state)]), 0);
    await io.fsync(this.fd);
    this.nextSlot = 0;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
