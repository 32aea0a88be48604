import * as crypto from 'node:crypto';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataDirError, readOrCreateSecret } from '../data-dir';
import { canonicalRecordJson } from './canonical';
import { LedgerError } from './errors';

export const SIGNING_KEY_FILE = 'ledger-signing-key.pem';

/**
 * What a record's hash covers: the canonical record without `hash` and `sig`. A record signature
 * (ledgers written before signing per commit, chain.ts) covers the same bytes.
 */
export function recordBytes(record: object): Buffer {
  return Buffer.from(canonicalRecordJson(record), 'utf8');
}

/** A record's hash: sha256 (hex) of recordBytes, hashed from the string without an intermediate buffer. */
export function recordHash(record: object): string {
  return sha256HexOfText(canonicalRecordJson(record));
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// crypto.hash (Node 20.12 and later) hashes in one call, about twice as fast as createHash for a
// record; older Node (an editor's bundled runtime) takes the stream way.
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/** sha256 (hex) of a string's UTF-8 bytes. */
export function sha256HexOfText(text: string): string {
  return oneShotHash ? oneShotHash('sha256', text, 'hex') : createHash('sha256').update(text, 'utf8').digest('hex');
}

export class Signer {
  readonly publicKey: KeyObject;
  private constructor(private readonly privateKey: KeyObject) {
    this.publicKey = createPublicKey(privateKey);
  }

  /** Loads the data dir's Ed25519 key, creating it (mode 0600) on first use; refuses one other users can read. */
  static loadOrCreate(dataDir: string): Signer {
    let pem: string;
    try {
      pem = readOrCreateSecret(dataDir, SIGNING_KEY_FILE, () => generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
    } catch (err) {
      // As a LedgerError its reason survives the trip from the ledger's thread.
      if (DataDirError.is(err)) throw new LedgerError('key', err.message, { cause: err });
      throw err;
    }
    return Signer.fromPem(pem);
  }

  static fromPem(pem: string): Signer {
    try {
      return new Signer(createPrivateKey(pem));
    } catch (err) {
      throw new LedgerError('key', `the ledger signing key is unreadable: ${(err as Error).message}`, { cause: err });
    }
  }

  sign(bytes: Buffer): string {
    return sign(null, bytes, this.privateKey).toString('base64');
  }

  publicKeyPem(): string {
    return publicKeyPem(this.publicKey);
  }
}

export function publicKeyPem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'spki' }).toString();
}

/** A public key's fingerprint: `sha256:` and the hex SHA-256 of its SPKI DER encoding. */
export function keyFingerprint(key: KeyObject): string {
  return `sha256:${createHash('sha256').update(key.export({ format: 'der', type: 'spki' })).digest('hex')}`;
}

export function verifySignature(key: KeyObject, bytes: Buffer, sig: string): boolean {
  try {
    return verify(null, bytes, key, Buffer.from(sig, 'base64'));
  } catch {
    return false;
  }
}

/** Reads a public key: a PEM public key, or a private key PEM whose public half is taken. */
export function readPublicKey(file: string): KeyObject {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new LedgerError('key', `cannot read the key ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return createPublicKey(text);
  } catch (err) {
    throw new LedgerError('key', `${file} is not an Ed25519 key in PEM form: ${(err as Error).message}`, { cause: err });
  }
}

/** The data dir's public key, without ever creating a key (verify must not mint one). */
export function dataDirPublicKey(dataDir: string): KeyObject {
  const file = path.join(dataDir, SIGNING_KEY_FILE);
  if (!fs.existsSync(file)) throw new LedgerError('key', `no ledger signing key in ${dataDir} (expected ${SIGNING_KEY_FILE})`);
  return readPublicKey(file);
}
