import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SignJWT } from 'jose';
import { IdentityError } from '../../../src/engine/identity/identity';
import { jwksOf } from '../../../src/engine/identity/jwks';
import { SESSION_ISSUER } from '../../../src/engine/identity/claims';
import { mintSessionToken, SESSION_AUDIENCE, TokenVerifier } from '../../../src/engine/identity/tokens';
import { loadPolicy } from '../../../src/engine/policy/loader';
import { KeyRotationSchedule } from '../../../src/proxy/key-rotation';
import { DataDirKeySource, KeyRingError, loadSessionKeys, readKeyRing, rotateSessionKeys, SESSION_KEY_FILE, SESSION_KEY_RING_FILE } from '../../../src/store/session-key';
import { referencePolicy } from '../../helpers/policy';

const tempDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-keys-'));

describe('session key ring', () => {
  it('an old data dir (one key, no ring) keeps working: its tokens with and without a kid verify, before and after a rotation', async () => {
    const dir = tempDir();
    const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    fs.writeFileSync(path.join(dir, SESSION_KEY_FILE), pem, { mode: 0o600 });
    const now = Date.now();
    const withKid = await mintSessionToken(loadSessionKeys(dir), { user: 'old@acme.dev', ttlMs: 3_600_000, now });
    // Tokens minted before keys had ids carry no kid at all.
    const withoutKid = await new SignJWT({ email: 'old@acme.dev' }).setProtectedHeader({ alg: 'EdDSA' }).setIssuer(SESSION_ISSUER).setAudience(SESSION_AUDIENCE).setIssuedAt().setExpirationTime('1h').sign(createPrivateKey(pem));
    const source = new DataDirKeySource(dir);
    const verifier = TokenVerifier.create(referencePolicy(), source);
    for (const t of [withKid, withoutKid]) assert.equal((await verifier.verify(t, now)).user, 'old@acme.dev');

    rotateSessionKeys(dir, { now });
    assert.ok(fs.existsSync(path.join(dir, SESSION_KEY_RING_FILE)));
    assert.equal(fs.statSync(path.join(dir, SESSION_KEY_RING_FILE)).mode & 0o777, 0o600);
    const fresh = await mintSessionToken(loadSessionKeys(dir), { user: 'new@acme.dev', ttlMs: 3_600_000, now });
    const after = TokenVerifier.create(referencePolicy(), new DataDirKeySource(dir));
    for (const t of [withKid, withoutKid, fresh]) assert.ok(await after.verify(t, now));
    // The running verifier learns the new key when a token names it.
    assert.equal((await verifier.verify(fresh, now)).user, 'new@acme.dev');

    rotateSessionKeys(dir, { now, revokeOld: true });
    const revoked = TokenVerifier.create(referencePolicy(), new DataDirKeySource(dir));
    await assert.rejects(revoked.verify(withKid, now), (e: unknown) => IdentityError.is(e, 'revoked'));
    await assert.rejects(revoked.verify(fresh, now), (e: unknown) => IdentityError.is(e, 'revoked'));
    await assert.rejects(revoked.verify(withoutKid, now), (e: unknown) => IdentityError.is(e, 'bad-signature'));
    assert.equal(jwksOf(new DataDirKeySource(dir).keys()).keys.length, 1, 'revoked keys leave the JWKS');
    assert.ok(!JSON.stringify(jwksOf(new DataDirKeySource(dir).keys())).includes('"d"'));
  });

  it('refuses a ring that does not read, naming the file, rather than signing with a guess', () => {
    const dir = tempDir();
    rotateSessionKeys(dir, { now: Date.now() });
    const file = path.join(dir, SESSION_KEY_RING_FILE);
    const ring = JSON.parse(fs.readFileSync(file, 'utf8')) as { keys: { kid: string }[] };
    ring.keys[0]!.kid = 'someone-elses';
    fs.writeFileSync(file, JSON.stringify(ring), { mode: 0o600 });
    assert.throws(() => readKeyRing(dir), (e: unknown) => KeyRingError.is(e) && /named someone-elses but its thumbprint is/.test(e.message));
    fs.writeFileSync(file, '{', { mode: 0o600 });
    assert.throws(() => loadSessionKeys(dir), (e: unknown) => KeyRingError.is(e) && /session-keys\.json is not JSON/.test(e.message));
  });

  it('rotates on the bundle schedule (identity.session_keys.rotate_every) once the current key is older than it', () => {
    const dir = tempDir();
    const t0 = Date.parse('2026-11-01T00:00:00Z');
    rotateSessionKeys(dir, { now: t0 });
    const first = readKeyRing(dir).current.kid;
    const text = fs.readFileSync(path.join(__dirname, '../../../policies/reference.yaml'), 'utf8').replace('  max_agents_per_user: 16', '  max_agents_per_user: 16\n  session_keys: { rotate_every: 30d }');
    const loaded = loadPolicy(text);
    assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.errors));
    let clock = t0 + 29 * 86_400_000;
    const lines: string[] = [];
    const log = { info: (m: string) => lines.push(m), error: (m: string) => lines.push(m) };
    const schedule = new KeyRotationSchedule(dir, new DataDirKeySource(dir), () => loaded.policy, log, () => clock);
    assert.equal(schedule.check(), false);
    clock = t0 + 30 * 86_400_000;
    assert.equal(schedule.check(), true);
    assert.notEqual(readKeyRing(dir).current.kid, first);
    assert.match(lines.join('\n'), /session key rotated/);
    const bad = loadPolicy(text.replace('rotate_every: 30d', 'rotate_every: 5m'));
    assert.ok(!bad.ok && bad.errors.some((e) => /shorter than 1h/.test(e.message)));
  });
});
