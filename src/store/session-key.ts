import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SessionKeys, SessionKeySource, SessionVerificationKey } from '../engine/identity/tokens';
import { keyId } from '../engine/identity/tokens';
import { assertPrivateFiles, ensureDataDir, readOrCreateSecret } from './data-dir';
import { writePrivateFile } from './private-file';

// The keys that sign session tokens. A data dir starts with one key (session-key.pem, as it always
// had); `keys rotate` turns it into a ring (session-keys.json) with a current key that signs and
// older keys that still verify the tokens they signed until those expire, or until `--revoke-old`
// revokes them. Every key is named by its kid, a thumbprint of its public key, which the token's
// header carries: the legacy key keeps the kid its tokens already name.

export const SESSION_KEY_FILE = 'session-key.pem';
export const SESSION_KEY_RING_FILE = 'session-keys.json';

/** How long a retired key is kept for verification: longer than any session token lives. */
export const MAX_SESSION_TOKEN_TTL_MS = 30 * 86_400_000;

export interface RingKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly createdAt: number;
  /** When a newer key took over signing; tokens it signed still verify. */
  readonly retiredAt?: number;
  /** When it was revoked: tokens it signed are refused. */
  readonly revokedAt?: number;
}

export interface KeyRing {
  readonly current: SessionKeys;
  readonly keys: readonly RingKey[];
}

interface RingFileKey {
  kid: string;
  created: string;
  retired: string | null;
  revoked: string | null;
  private_key: string;
}

interface RingFile {
  version: 1;
  current: string;
  keys: RingFileKey[];
}

/** The ring file cannot be read: nothing is signed or verified with a guess. */
export class KeyRingError extends Error {
  readonly reason = 'corrupt' as const;
  constructor(message: string) {
    super(message);
    this.name = 'KeyRingError';
  }
  static is(err: unknown): err is KeyRingError {
    return err instanceof KeyRingError;
  }
}

function legacyKey(dataDir: string): RingKey {
  const file = path.join(dataDir, SESSION_KEY_FILE);
  const pem = readOrCreateSecret(dataDir, SESSION_KEY_FILE, () => generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
  const privateKey = createPrivateKey(pem);
  const publicKey = createPublicKey(privateKey);
  return { kid: keyId(publicKey), privateKey, publicKey, createdAt: fs.statSync(file).mtimeMs };
}

function time(text: string | null, what: string): number | undefined {
  if (text === null) return undefined;
  const t = Date.parse(text);
  if (!Number.isFinite(t)) throw new KeyRingError(`${what} is not a time`);
  return t;
}

function parseRing(text: string, file: string): KeyRing {
  let doc: RingFile;
  try {
    doc = JSON.parse(text) as RingFile;
  } catch (err) {
    throw new KeyRingError(`${file} is not JSON (${(err as Error).message}); restore it from a backup, or remove it to go back to ${SESSION_KEY_FILE}`);
  }
  if (doc?.version !== 1 || !Array.isArray(doc.keys) || typeof doc.current !== 'string') throw new KeyRingError(`${file} is not a session key ring (version 1)`);
  const keys = doc.keys.map((k, i): RingKey => {
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(k.private_key);
    } catch {
      throw new KeyRingError(`${file}: key ${i} is not a private key`);
    }
    const publicKey = createPublicKey(privateKey);
    const kid = keyId(publicKey);
    if (kid !== k.kid) throw new KeyRingError(`${file}: key ${i} is named ${String(k.kid).slice(0, 40)} but its thumbprint is ${kid}`);
    return { kid, privateKey, publicKey, createdAt: time(k.created, `${file}: key ${kid} created`) ?? 0, retiredAt: time(k.retired, `${file}: key ${kid} retired`), revokedAt: time(k.revoked, `${file}: key ${kid} revoked`) };
  });
  const current = keys.find((k) => k.kid === doc.current);
  if (!current) throw new KeyRingError(`${file}: the current key ${doc.current.slice(0, 40)} is not in the ring`);
  if (current.revokedAt !== undefined) throw new KeyRingError(`${file}: the current key ${current.kid} is revoked`);
  return { current: { privateKey: current.privateKey, publicKey: current.publicKey, kid: current.kid }, keys };
}

/** The data dir's keys: its ring, or the single key of a data dir that never rotated (created on first use, mode 0600). */
export function readKeyRing(dataDir: string): KeyRing {
  const file = path.join(dataDir, SESSION_KEY_RING_FILE);
  assertPrivateFiles([file]);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const only = legacyKey(dataDir);
    return { current: { privateKey: only.privateKey, publicKey: only.publicKey, kid: only.kid }, keys: [only] };
  }
  return parseRing(text, file);
}

/** The key that signs new session tokens. */
export function loadSessionKeys(dataDir: string): SessionKeys {
  return readKeyRing(dataDir).current;
}

function writeRing(dataDir: string, current: string, keys: readonly RingKey[]): void {
  const iso = (t: number | undefined): string | null => (t === undefined ? null : new Date(t).toISOString());
  const doc: RingFile = {
    version: 1,
    current,
    keys: keys.map((k) => ({ kid: k.kid, created: new Date(k.createdAt).toISOString(), retired: iso(k.retiredAt), revoked: iso(k.revokedAt), private_key: k.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() })),
  };
  writePrivateFile(path.join(ensureDataDir(dataDir), SESSION_KEY_RING_FILE), `${JSON.stringify(doc, null, 2)}\n`);
}

export interface Rotation {
  readonly current: string;
  /** Keys that stopped signing now; their tokens still verify (unless revoked). */
  readonly retired: readonly string[];
  /** Keys revoked now (`--revoke-old`). */
  readonly revoked: readonly string[];
  /** Retired keys dropped because every token they signed has expired. */
  readonly dropped: readonly string[];
}

/**
 * Makes a new current key. The previous ones keep verifying what they signed until it expires,
 * or are revoked at once with `revokeOld`. Keys retired longer than a token lives are dropped.
 */
export function rotateSessionKeys(dataDir: string, o: { readonly now: number; readonly revokeOld?: boolean }): Rotation {
  const ring = readKeyRing(dataDir);
  const privateKey = generateKeyPairSync('ed25519').privateKey;
  const publicKey = createPublicKey(privateKey);
  const fresh: RingKey = { kid: keyId(publicKey), privateKey, publicKey, createdAt: o.now };
  const retired: string[] = [];
  const revoked: string[] = [];
  const dropped: string[] = [];
  const kept: RingKey[] = [];
  for (const k of ring.keys) {
    if (k.retiredAt !== undefined && k.retiredAt + MAX_SESSION_TOKEN_TTL_MS < o.now) {
      dropped.push(k.kid);
      continue;
    }
    let next = k;
    if (next.retiredAt === undefined) {
      next = { ...next, retiredAt: o.now };
      retired.push(k.kid);
    }
    if (o.revokeOld && next.revokedAt === undefined) {
      next = { ...next, revokedAt: o.now };
      revoked.push(k.kid);
    }
    kept.push(next);
  }
  writeRing(dataDir, fresh.kid, [...kept, fresh]);
  return { current: fresh.kid, retired, revoked, dropped };
}

/** Whether the current key is older than the bundle's `identity.session_keys.rotate_every`. */
export function rotationDue(ring: KeyRing, rotateEveryMs: number, now: number): boolean {
  const current = ring.keys.find((k) => k.kid === ring.current.kid);
  return current !== undefined && current.createdAt + rotateEveryMs <= now;
}

/**
 * The ring as a running proxy verifies with: read once, and read again when a token names a kid
 * it does not know and the file changed since (a `keys rotate` while the proxy runs).
 */
export class DataDirKeySource implements SessionKeySource {
  private ring: KeyRing;
  private verification: SessionVerificationKey[];
  private seen: string;

  constructor(private readonly dataDir: string) {
    this.ring = readKeyRing(dataDir);
    this.verification = DataDirKeySource.verificationOf(this.ring);
    this.seen = this.fingerprint();
  }

  private static verificationOf(ring: KeyRing): SessionVerificationKey[] {
    return ring.keys.map((k) => ({ kid: k.kid, publicKey: k.publicKey, ...(k.revokedAt !== undefined ? { revoked: true } : {}) }));
  }

  private fingerprint(): string {
    try {
      const s = fs.statSync(path.join(this.dataDir, SESSION_KEY_RING_FILE));
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return 'none';
    }
  }

  get current(): KeyRing {
    return this.ring;
  }

  keys(): readonly SessionVerificationKey[] {
    return this.verification;
  }

  /** Rereads the ring if its file changed; a ring that no longer reads keeps the last good one in force. */
  refresh(): boolean {
    const now = this.fingerprint();
    if (now === this.seen) return false;
    this.seen = now;
    try {
      this.ring = readKeyRing(this.dataDir);
    } catch {
      return false;
    }
    this.verification = DataDirKeySource.verificationOf(this.ring);
    return true;
  }
}
