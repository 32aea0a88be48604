import { createPublicKey } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import type { VerificationKey } from '../policy/model';
import type { IssuerDocument } from '../policy/schema';
import type { PolicyPath } from '../policy/source';

// An identity provider's keys are imported when the bundle is loaded, not when its first token
// arrives: a key that cannot be read, or that cannot verify the algorithms the issuer is said to
// use, is an error in the bundle at the key, and the verifier only ever holds keys that work.

/** The issuer's algorithms when the bundle names none: the OpenID Connect default for ID tokens. */
export const DEFAULT_ISSUER_ALGORITHMS: readonly string[] = ['RS256'];

/** Whether jose (on Node's WebCrypto) verifies `alg` with this key: the key type, curve and size must fit. */
function fits(alg: string, key: KeyObject): boolean {
  const details = key.asymmetricKeyDetails ?? {};
  switch (alg) {
    case 'RS256': case 'RS384': case 'RS512': case 'PS256': case 'PS384': case 'PS512':
      return key.asymmetricKeyType === 'rsa' && (details.modulusLength ?? 0) >= 2048;
    case 'ES256':
      return key.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1';
    case 'ES384':
      return key.asymmetricKeyType === 'ec' && details.namedCurve === 'secp384r1';
    case 'ES512':
      return key.asymmetricKeyType === 'ec' && details.namedCurve === 'secp521r1';
    case 'EdDSA':
      return key.asymmetricKeyType === 'ed25519';
    default:
      return false;
  }
}

const everyAlgorithm = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const curveNames: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

function describe(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa': return `an RSA ${details.modulusLength ?? '?'}-bit key`;
    case 'ec': return `an EC ${curveNames[details.namedCurve ?? ''] ?? details.namedCurve ?? ''} key`;
    case 'ed25519': return 'an Ed25519 key';
    case 'ed448': return 'an Ed448 key';
    default: return `a ${key.asymmetricKeyType ?? 'symmetric'} key`;
  }
}

/** A problem with one issuer's keys or algorithms, at a path inside the issuer's entry. */
export interface IssuerKeyProblem {
  readonly path: PolicyPath;
  readonly message: string;
}

interface Candidate {
  readonly path: PolicyPath;
  readonly key: KeyObject;
  readonly kid?: string;
  /** The JWK's own "alg": the only algorithm the key may then verify. */
  readonly alg?: string;
}

/** OpenSSL's reason, without its error-code prefix. */
function reasonOf(err: unknown): string {
  return (err as Error).message.replace(/^error:[0-9A-F]+:/, '').replace(/^[A-Za-z ]+ routines::/, '');
}

function readPem(pem: string, problems: IssuerKeyProblem[]): Candidate | undefined {
  const path = ['public_key'];
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    problems.push({ path, message: 'public_key holds a private key: put only the public key (PEM, SPKI) in the bundle' });
    return undefined;
  }
  try {
    return { path, key: createPublicKey(pem) };
  } catch (err) {
    problems.push({ path, message: `public_key is not a PEM public key that can be read (${reasonOf(err)})` });
    return undefined;
  }
}

function readJwk(jwk: Record<string, unknown>, path: PolicyPath, problems: IssuerKeyProblem[]): Candidate | undefined {
  if (jwk.d !== undefined) {
    problems.push({ path, message: 'this JSON Web Key holds a private key ("d"): put only the public key in the bundle' });
    return undefined;
  }
  if (jwk.kty === 'oct') {
    problems.push({ path, message: 'a symmetric key (kty: oct) cannot verify an issuer\'s tokens: only public keys are accepted' });
    return undefined;
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') {
    problems.push({ path: [...path, 'use'], message: `this key is for use '${String(jwk.use)}', not for signatures` });
    return undefined;
  }
  if (jwk.kid !== undefined && typeof jwk.kid !== 'string') {
    problems.push({ path: [...path, 'kid'], message: 'kid must be a string' });
    return undefined;
  }
  if (jwk.alg !== undefined && (typeof jwk.alg !== 'string' || !everyAlgorithm.includes(jwk.alg))) {
    problems.push({ path: [...path, 'alg'], message: `alg must be one of: ${everyAlgorithm.join(', ')}` });
    return undefined;
  }
  try {
    return { path, key: createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }), kid: jwk.kid, alg: jwk.alg };
  } catch (err) {
    problems.push({ path, message: `this is not a JSON Web Key that can be read (${reasonOf(err)})` });
    return undefined;
  }
}

/**
 * Imports an issuer's keys (its PEM public key or inline JWKS) and checks each against the
 * algorithms the issuer signs with: every key must verify one of them and every algorithm must
 * have a key. Problems are reported at the key or algorithm they concern.
 */
export function importIssuerKeys(doc: IssuerDocument): { keys: VerificationKey[]; problems: IssuerKeyProblem[] } {
  const problems: IssuerKeyProblem[] = [];
  const algorithms = doc.algorithms ?? DEFAULT_ISSUER_ALGORITHMS;
  if (doc.jwks === undefined && doc.public_key === undefined) {
    problems.push({ path: [], message: `issuer '${doc.issuer}' needs jwks or public_key to verify its tokens` });
  }
  if (doc.jwks !== undefined && doc.public_key !== undefined) {
    problems.push({ path: ['public_key'], message: 'give jwks or public_key, not both: one of them would be ignored' });
  }
  if (doc.jwks !== undefined && doc.jwks.keys.length === 0) problems.push({ path: ['jwks', 'keys'], message: 'jwks has no keys' });

  const candidates: Candidate[] = [];
  if (doc.public_key !== undefined) {
    const c = readPem(doc.public_key, problems);
    if (c) candidates.push(c);
  }
  const kids = new Set<string>();
  doc.jwks?.keys.forEach((jwk, k) => {
    const c = readJwk(jwk, ['jwks', 'keys', k], problems);
    if (!c) return;
    if (c.kid !== undefined && kids.has(c.kid)) problems.push({ path: [...c.path, 'kid'], message: `kid '${c.kid}' is used by another key of this issuer` });
    if (c.kid !== undefined) kids.add(c.kid);
    candidates.push(c);
  });

  const keys: VerificationKey[] = [];
  for (const c of candidates) {
    const possible = everyAlgorithm.filter((a) => fits(a, c.key) && (c.alg === undefined || c.alg === a));
    const usable = algorithms.filter((a) => possible.includes(a));
    if (usable.length > 0) {
      keys.push({ key: c.key, kid: c.kid, algorithms: usable });
      continue;
    }
    const what = describe(c.key);
    if (possible.length === 0) {
      const rsaTooShort = c.key.asymmetricKeyType === 'rsa' && (c.key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048;
      problems.push({
        path: c.path,
        message: rsaTooShort ? `${what} is too short to verify tokens: RSA keys need 2048 bits at least`
          : c.alg !== undefined ? `${what} cannot verify its own alg ${c.alg}` : `${what} cannot verify any accepted algorithm (${everyAlgorithm.join(', ')})`,
      });
    } else if (doc.algorithms === undefined) {
      problems.push({ path: c.path, message: `${what} cannot verify ${algorithms.join(', ')}, the default when 'algorithms' is not given: add algorithms: [${possible.join(', ')}]` });
    } else {
      problems.push({ path: c.path, message: `${what} cannot verify ${algorithms.join(', ')} (the issuer's algorithms); it verifies ${possible.join(', ')}` });
    }
  }
  // An algorithm without a key is worth naming only once every key is read and fits; otherwise the key is the mistake.
  if (problems.length === 0 && doc.algorithms !== undefined) {
    doc.algorithms.forEach((a, j) => {
      if (!keys.some((k) => k.algorithms.includes(a))) problems.push({ path: ['algorithms', j], message: `no key of this issuer verifies ${a}` });
    });
  }
  return { keys, problems };
}
