import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { exportJWK, SignJWT } from 'jose';
import { TokenVerifier } from '../../../src/engine/identity/tokens';
import { loadPolicy } from '../../../src/engine/policy/loader';
import { bundleWithIssuer, NOW, policyFrom, positionOf, publicKeyField } from '../../helpers/policy';

const spki = (key: KeyObject): string => key.export({ type: 'spki', format: 'pem' }) as string;

function errorsOf(text: string): { line: number; column: number; message: string }[] {
  const r = loadPolicy(text, NOW);
  assert.equal(r.ok, false, 'expected the bundle to be rejected');
  return r.ok ? [] : r.errors.map((e) => ({ line: e.position.line, column: e.position.column, message: e.message }));
}

/** Line and column of the last occurrence of `needle`. */
function lastPositionOf(text: string, needle: string): { line: number; column: number } {
  const at = text.lastIndexOf(needle);
  return { line: text.slice(0, at).split('\n').length, column: at - text.lastIndexOf('\n', at - 1) };
}

/** Expects exactly one error, at the first (or `last`) occurrence of `at` in the text, matching `message`. */
function expectOneError(text: string, at: string, message: RegExp, last = false): void {
  const errors = errorsOf(text);
  assert.equal(errors.length, 1, JSON.stringify(errors));
  assert.match(errors[0]!.message, message);
  const where = last ? lastPositionOf(text, at) : positionOf(text, at);
  assert.deepEqual({ line: errors[0]!.line, column: errors[0]!.column }, where);
}

describe('identity-provider keys are imported and checked when the bundle loads', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

  it('refuses a truncated PEM key at the key', () => {
    const pem = spki(rsa.publicKey);
    const truncated = pem.split('\n').slice(0, 4).join('\n');
    const text = bundleWithIssuer(`      algorithms: [RS256]\n${publicKeyField(truncated)}`);
    expectOneError(text, '|\n', /^public_key is not a PEM public key that can be read/);
  });

  it('refuses an EC key without algorithms, naming the algorithm to add', () => {
    const text = bundleWithIssuer(publicKeyField(spki(ec.publicKey)));
    expectOneError(text, '|\n', /^an EC P-256 key cannot verify RS256, the default when 'algorithms' is not given: add algorithms: \[ES256\]$/);
  });

  it('accepts an EC key with ES256 and verifies its tokens', async () => {
    const policy = policyFrom(bundleWithIssuer(`      algorithms: [ES256]\n${publicKeyField(spki(ec.publicKey))}`));
    assert.deepEqual(policy.identity.issuers[0]!.keys.map((k) => k.algorithms), [['ES256']]);
    const token = await new SignJWT({ email: 'dan@acme.dev' }).setProtectedHeader({ alg: 'ES256' }).setIssuer('https://idp.acme.dev').setAudience('tollgate')
      .setExpirationTime(NOW / 1000 + 60).sign(ec.privateKey);
    assert.equal((await TokenVerifier.create(policy, undefined).verify(token, NOW)).user, 'dan@acme.dev');
  });

  it('refuses a key that fits none of the listed algorithms, and an algorithm no key verifies', () => {
    expectOneError(bundleWithIssuer(`      algorithms: [ES384]\n${publicKeyField(spki(ec.publicKey))}`), '|\n', /an EC P-256 key cannot verify ES384 \(the issuer's algorithms\); it verifies ES256/);
    const text = bundleWithIssuer(`      algorithms: [ES256, RS256]\n${publicKeyField(spki(ec.publicKey))}`);
    expectOneError(text, 'RS256]', /^no key of this issuer verifies RS256$/);
  });

  it('refuses an RSA key shorter than 2048 bits, an Ed448 key and a private key', () => {
    const short = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expectOneError(bundleWithIssuer(`      algorithms: [RS256]\n${publicKeyField(spki(short.publicKey))}`), '|\n', /RSA 1024-bit key is too short/);
    const ed448 = generateKeyPairSync('ed448');
    expectOneError(bundleWithIssuer(`      algorithms: [EdDSA]\n${publicKeyField(spki(ed448.publicKey))}`), '|\n', /an Ed448 key cannot verify any accepted algorithm/);
    const privatePem = ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expectOneError(bundleWithIssuer(`      algorithms: [ES256]\n${publicKeyField(privatePem)}`), '|\n', /holds a private key/);
  });

  it('checks each key of an inline JWKS at that key', async () => {
    const good = { ...(await exportJWK(rsa.publicKey)), kid: 'r1' };
    const jwks = (keys: object[]): string => `      algorithms: [RS256]\n      jwks:\n        keys:\n${keys.map((k) => `          - ${JSON.stringify(k)}\n`).join('')}`;
    const withPrivate = { ...(await exportJWK(rsa.privateKey)), kid: 'r2' };
    expectOneError(bundleWithIssuer(jwks([good, withPrivate])), JSON.stringify(withPrivate), /holds a private key \("d"\)/);
    const oct = { kty: 'oct', k: 'c2VjcmV0', kid: 'h1' };
    expectOneError(bundleWithIssuer(jwks([good, oct])), JSON.stringify(oct), /symmetric key/);
    expectOneError(bundleWithIssuer(jwks([{ ...good, use: 'enc' }])), '"enc"', /for use 'enc', not for signatures/);
    expectOneError(bundleWithIssuer(jwks([good, { ...good }])), '"r1"', /kid 'r1' is used by another key/, true);
    const ecJwk = { ...(await exportJWK(ec.publicKey)), kid: 'e1', alg: 'ES256' };
    expectOneError(bundleWithIssuer(jwks([good, ecJwk])), JSON.stringify(ecJwk), /an EC P-256 key cannot verify RS256 \(the issuer's algorithms\); it verifies ES256/);
  });

  it('refuses an issuer with both jwks and public_key, a second issuer of the same name, and the session issuer\'s name', async () => {
    const jwk = { ...(await exportJWK(rsa.publicKey)), kid: 'r1' };
    const both = bundleWithIssuer(`      algorithms: [RS256]\n      jwks: { keys: [${JSON.stringify(jwk)}] }\n${publicKeyField(spki(rsa.publicKey))}`);
    expectOneError(both, '|\n', /give jwks or public_key, not both/);
    const entry = `      algorithms: [RS256]\n${publicKeyField(spki(rsa.publicKey))}`;
    const twice = bundleWithIssuer(`${entry}    - issuer: https://idp.acme.dev\n      audience: tollgate\n${entry}`);
    expectOneError(twice, 'https://idp.acme.dev', /issuer 'https:\/\/idp.acme.dev' is already configured \(identity.issuers.0\)/, true);
    expectOneError(bundleWithIssuer(entry, 'tollgate'), 'tollgate\n      audience', /'tollgate' is the proxy's own session issuer/);
  });

  it('reports key problems beside the schema\'s errors and the other semantic errors', () => {
    const text = bundleWithIssuer(publicKeyField(spki(ec.publicKey))).replace('burst: 20', 'burts: 20').replace('expires: 2027-06-30', 'expires: 2026-02-30');
    const messages = errorsOf(text).map((e) => e.message);
    assert.equal(messages.length, 3, JSON.stringify(messages));
    assert.match(messages[0]!, /an EC P-256 key cannot verify RS256/);
    assert.match(messages[1]!, /unknown key 'burts'/);
    assert.match(messages[2]!, /impossible date '2026-02-30'/);
  });
});
