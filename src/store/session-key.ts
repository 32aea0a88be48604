import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { SessionKeys } from '../engine/identity/tokens';
import { keyId } from '../engine/identity/tokens';
import { readOrCreateSecret } from './data-dir';

export const SESSION_KEY_FILE = 'session-key.pem';

/** The Ed25519 key that signs session tokens, created in the data dir on first use (mode 0600). */
export function loadSessionKeys(dataDir: string): SessionKeys {
  const pem = readOrCreateSecret(dataDir, SESSION_KEY_FILE, () =>
    generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  );
  const privateKey = createPrivateKey(pem);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, kid: keyId(publicKey) };
}
