import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, sign as signBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { exportJWK, SignJWT } from 'jose';
import { IdentityError, withAgent } from '../../../src/engine/identity/identity';
import { SESSION_ISSUER } from '../../../src/engine/identity/claims';
import { mintSessionToken, SESSION_AUDIENCE, TokenVerifier } from '../../../src/engine/identity/tokens';
import { loadSessionKeys } from '../../../src/store/session-key';
import { runTollgate } from '../../helpers/cli';
import { bundleWithIssuer, NOW, policyFrom, referencePolicy, referenceText } from '../../helpers/policy';

const HOUR = 3_600_000;

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-id-'));
}

function b64(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

describe('identity verification', () => {
  const dir = tempDir();
  const keys = loadSessionKeys(dir);
  let verifier: TokenVerifier;
  before(async () => {
    verifier = TokenVerifier.create(referencePolicy(), keys);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function rejects(token: string | undefined, reason: string, now = NOW): Promise<void> {
    await assert.rejects(verifier.verify(token, now), (err: unknown) => {
      assert.ok(IdentityError.is(err), String(err));
      assert.equal((err as IdentityError).reason, reason);
      return true;
    });
  }

  it('keeps the session signing key in the data dir with mode 0600 and reuses it', () => {
    const stat = fs.statSync(path.join(dir, 'session-key.pem'));
    assert.equal(stat.mode & 0o777, 0o600);
    assert.equal(loadSessionKeys(dir).kid, keys.kid);
  });

  it('verifies a session token it minted and normalises the e-mail', async () => {
    const token = await mintSessionToken(keys, { user: ' Alice@ACME.dev', agent: 'notebook', ttlMs: HOUR, now: NOW });
    const id = await verifier.verify(token, NOW + 1000);
    assert.equal(id.user, 'alice@acme.dev');
    assert.equal(id.agent, 'notebook');
    assert.deepEqual(id.roles, ['marketing-analysts'], 'roles come from the bundle for the person');
    assert.equal(id.issuer, SESSION_ISSUER);
    assert.ok(id.session.length > 0);
  });

  it('keeps a token in use cached when the cache of verified tokens fills, instead of emptying it', async () => {
    const own = TokenVerifier.create(referencePolicy(), keys);
    const limit = 10_000;
    const tokens = await Promise.all(Array.from({ length: limit + 1 }, (_, i) => mintSessionToken(keys, { user: `p${i}@acme.dev`, ttlMs: HOUR, now: NOW })));
    const kept = tokens[limit]!;
    const identity = await own.verify(kept, NOW);
    for (let i = 0; i < limit - 1; i++) await own.verify(tokens[i]!, NOW);
    assert.equal(await own.verify(kept, NOW), identity, 'answered from the cache');
    await own.verify(tokens[limit - 1]!, NOW);
    assert.equal(await own.verify(kept, NOW), identity, 'the token used last is still cached');
  });

  it('gives the same person one identity whatever the case of their address', async () => {
    const a = await verifier.verify(await mintSessionToken(keys, { user: 'BOB@acme.dev', ttlMs: HOUR, now: NOW }), NOW);
    const b = await verifier.verify(await mintSessionToken(keys, { user: 'bob@Acme.Dev', ttlMs: HOUR, now: NOW }), NOW);
    assert.equal(a.user, b.user);
    assert.equal(a.agent, 'default');
  });

  it('merges roles from the token with roles from the bundle', async () => {
    const id = await verifier.verify(await mintSessionToken(keys, { user: 'alice@acme.dev', roles: ['ml-engineers'], ttlMs: HOUR, now: NOW }), NOW);
    assert.deepEqual([...id.roles].sort(), ['marketing-analysts', 'ml-engineers']);
  });

  it('refuses a missing token', () => rejects(undefined, 'missing'));
  it('refuses a malformed token', () => rejects('not.a.jwt', 'malformed'));

  it('refuses an expired token', async () => {
    const token = await mintSessionToken(keys, { user: 'a@b.c', ttlMs: HOUR, now: NOW });
    await rejects(token, 'expired', NOW + 2 * HOUR);
  });

  it('refuses a token that is not valid yet', async () => {
    const token = await mintSessionToken(keys, { user: 'a@b.c', ttlMs: HOUR, now: NOW + HOUR });
    await rejects(token, 'not-yet-valid', NOW);
  });

  it('refuses a token for another audience', async () => {
    const token = await new SignJWT({ email: 'a@b.c' }).setProtectedHeader({ alg: 'EdDSA' }).setIssuer(SESSION_ISSUER).setAudience('someone-else')
      .setIssuedAt(NOW / 1000).setExpirationTime(NOW / 1000 + 3600).sign(keys.privateKey);
    await rejects(token, 'wrong-audience');
  });

  it('refuses an unsigned token (alg: none)', async () => {
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: SESSION_ISSUER, aud: SESSION_AUDIENCE, email: 'a@b.c', exp: NOW / 1000 + 3600 })}.`;
    await rejects(token, 'alg-none');
  });

  it('refuses algorithm confusion: HS256 signed with the public key as secret', async () => {
    const secret = keys.publicKey.export({ format: 'pem', type: 'spki' });
    const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iss: SESSION_ISSUER, aud: SESSION_AUDIENCE, email: 'a@b.c', exp: NOW / 1000 + 3600 })}`;
    const sig = createHmac('sha256', secret).update(head).digest('base64url');
    await rejects(`${head}.${sig}`, 'algorithm-confusion');
  });

  it('refuses a token signed by another key', async () => {
    const other = loadSessionKeys(tempDir());
    const token = await mintSessionToken({ ...other, kid: keys.kid }, { user: 'a@b.c', ttlMs: HOUR, now: NOW });
    await rejects(token, 'bad-signature');
  });

  it('refuses a token whose payload was edited after signing', async () => {
    const token = await mintSessionToken(keys, { user: 'a@b.c', ttlMs: HOUR, now: NOW });
    const [h, p, s] = token.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    claims.email = 'boss@acme.dev';
    await rejects(`${h}.${b64(claims)}.${s}`, 'bad-signature');
  });

  it('refuses a token from an issuer the bundle does not trust', async () => {
    const token = await new SignJWT({ email: 'a@b.c' }).setProtectedHeader({ alg: 'EdDSA' }).setIssuer('https://evil.example').setAudience(SESSION_AUDIENCE)
      .setExpirationTime(NOW / 1000 + 3600).sign(keys.privateKey);
    await rejects(token, 'unknown-issuer');
  });

  it('refuses an agent header outside the allowed characters', () => {
    const id = { user: 'a@b.c', agent: 'default', session: 's', roles: [], issuer: 'tollgate' };
    assert.equal(withAgent(id, 'batch-eval').agent, 'batch-eval');
    assert.equal(withAgent(id, undefined).agent, 'default');
    assert.throws(() => withAgent(id, 'x'.repeat(65)), (e: unknown) => IdentityError.is(e, 'invalid-agent'));
    assert.throws(() => withAgent(id, 'a b\n'), (e: unknown) => IdentityError.is(e, 'invalid-agent'));
  });

  describe('canonical encoding', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    /** Every spelling of `segment` that decodes to the same bytes: the last character with each value of its unused bits. */
    function spellings(segment: string): string[] {
      const unusedBits = segment.length % 4 === 2 ? 4 : segment.length % 4 === 3 ? 2 : 0;
      const last = alphabet.indexOf(segment.at(-1)!);
      return Array.from({ length: 1 << unusedBits }, (_, bits) => `${segment.slice(0, -1)}${alphabet[(last & ~((1 << unusedBits) - 1)) | bits]}`);
    }
    /** A header or payload whose base64url leaves unused bits, so it has other spellings. */
    function segmentWithSpareBits(o: Record<string, unknown>): string {
      let json = JSON.stringify(o);
      while (Buffer.from(json).toString('base64url').length % 4 === 0) json = `${json.slice(0, -1)} }`;
      return Buffer.from(json).toString('base64url');
    }
    /** Signs the exact text given, as an issuer that writes non-canonical base64url would. */
    const signed = (h: string, p: string): string => `${h}.${p}.${signBytes(null, Buffer.from(`${h}.${p}`), keys.privateKey).toString('base64url')}`;
    const claims = { iss: SESSION_ISSUER, aud: SESSION_AUDIENCE, email: 'a@b.c', exp: NOW / 1000 + 3600 };

    it('accepts one of the 16 spellings of an Ed25519 signature, before and after that one is cached', async () => {
      const token = await mintSessionToken(keys, { user: 'a@b.c', ttlMs: HOUR, now: NOW });
      const [h, p, s] = token.split('.');
      const all = spellings(s!);
      assert.equal(all.length, 16);
      const others = all.filter((x) => x !== s).map((x) => `${h}.${p}.${x}`);
      for (const t of others) await rejects(t, 'non-canonical');
      assert.equal((await verifier.verify(token, NOW)).user, 'a@b.c');
      for (const t of others) await rejects(t, 'non-canonical');
    });

    it('refuses a signature with = padding', async () => {
      const token = await mintSessionToken(keys, { user: 'a@b.c', ttlMs: HOUR, now: NOW });
      await rejects(`${token}==`, 'non-canonical');
    });

    it('refuses a header or payload spelled non-canonically even when the signature covers that spelling', async () => {
      const h = segmentWithSpareBits({ alg: 'EdDSA', typ: 'JWT' });
      const p = segmentWithSpareBits(claims);
      assert.equal((await verifier.verify(signed(h, p), NOW)).user, 'a@b.c', 'the canonical spelling verifies');
      const respelled = (segment: string): string => spellings(segment).find((x) => x !== segment)!;
      await rejects(signed(respelled(h), p), 'non-canonical');
      await rejects(signed(h, respelled(p)), 'non-canonical');
    });

    it('calls a segment outside the base64url alphabet malformed', async () => {
      const token = await mintSessionToken(keys, { user: 'a@b.c', ttlMs: HOUR, now: NOW });
      await rejects(`${token.slice(0, -3)}*${token.slice(-2)}`, 'malformed');
      await rejects(`${token}.x`, 'malformed');
    });
  });

  describe('identity-provider tokens', () => {
    const idp = generateKeyPairSync('rsa', { modulusLength: 2048 });
    let idpVerifier: TokenVerifier;
    before(async () => {
      const jwk = { ...(await exportJWK(idp.publicKey)), kid: 'k1', alg: 'RS256' };
      const bundle = referenceText.replace('  required: true\n', `  required: true\n  issuers:\n    - issuer: https://idp.acme.dev\n      audience: tollgate\n      algorithms: [RS256]\n      roles_claim: groups\n      jwks: ${JSON.stringify({ keys: [jwk] })}\n`);
      idpVerifier = TokenVerifier.create(policyFrom(bundle), keys);
    });
    const sign = (claims: Record<string, unknown>, aud = 'tollgate', alg = 'RS256'): Promise<string> =>
      new SignJWT(claims).setProtectedHeader({ alg, kid: 'k1' }).setIssuer('https://idp.acme.dev').setAudience(aud).setIssuedAt(NOW / 1000).setExpirationTime(NOW / 1000 + 3600).sign(idp.privateKey);

    it('accepts a token of the configured issuer, roles from its claim', async () => {
      const id = await idpVerifier.verify(await sign({ email: 'Carol@acme.dev', groups: ['ml-engineers'], tenant: 'acme' }), NOW);
      assert.equal(id.user, 'carol@acme.dev');
      assert.deepEqual(id.roles, ['ml-engineers']);
      assert.equal(id.tenant, 'acme');
      assert.equal(id.issuer, 'https://idp.acme.dev');
    });

    it('refuses the issuer\'s token for another audience', async () => {
      await assert.rejects(idpVerifier.verify(await sign({ email: 'c@acme.dev' }, 'other-app'), NOW), (e: unknown) => IdentityError.is(e, 'wrong-audience'));
    });

    it('refuses an algorithm the issuer is not configured for', async () => {
      await assert.rejects(idpVerifier.verify(await sign({ email: 'c@acme.dev' }, 'tollgate', 'PS256'), NOW), (e: unknown) => IdentityError.is(e, 'algorithm-not-allowed'));
    });

    it('refuses a token that names no person', async () => {
      await assert.rejects(idpVerifier.verify(await sign({ groups: [] }), NOW), (e: unknown) => IdentityError.is(e, 'missing-user-claim') && /'email'/.test(e.message));
    });

    it('never takes sub for the person when the default email claim is missing', async () => {
      await assert.rejects(idpVerifier.verify(await sign({ sub: 'carol@acme.dev', groups: ['ml-engineers'] }), NOW), (e: unknown) => IdentityError.is(e, 'missing-user-claim'));
    });

    it('reads no agent from an issuer\'s token unless the issuer names an agent claim', async () => {
      const id = await idpVerifier.verify(await sign({ email: 'carol@acme.dev', agent: 'granted-agent' }), NOW);
      assert.equal(id.agent, 'default');
    });
  });

  describe('an issuer with several keys', () => {
    const first = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const second = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwks = JSON.stringify({ keys: [first.publicKey.export({ format: 'jwk' }), { ...second.publicKey.export({ format: 'jwk' }), kid: 'k2' }] });
    const v = (): TokenVerifier => TokenVerifier.create(policyFrom(bundleWithIssuer(`      algorithms: [RS256]\n      jwks: ${jwks}\n`)), undefined);
    const sign = (key: KeyObject, kid?: string): Promise<string> =>
      new SignJWT({ email: 'erin@acme.dev' }).setProtectedHeader({ alg: 'RS256', ...(kid ? { kid } : {}) }).setIssuer('https://idp.acme.dev').setAudience('tollgate')
        .setExpirationTime(NOW / 1000 + 60).sign(key);

    it('verifies with the key the token names, or with any key when it names none', async () => {
      assert.equal((await v().verify(await sign(second.privateKey, 'k2'), NOW)).user, 'erin@acme.dev');
      assert.equal((await v().verify(await sign(second.privateKey), NOW)).user, 'erin@acme.dev');
      assert.equal((await v().verify(await sign(first.privateKey, 'anything'), NOW)).user, 'erin@acme.dev', 'a key without a kid answers for any kid');
    });

    it('refuses a token whose named key did not sign it, or that no key signed', async () => {
      await assert.rejects(v().verify(await sign(first.privateKey, 'k2'), NOW), (e: unknown) => IdentityError.is(e, 'bad-signature'));
      await assert.rejects(v().verify(await sign(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey), NOW), (e: unknown) => IdentityError.is(e, 'bad-signature'));
    });
  });

  describe('an issuer with configured claims', () => {
    const idp = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    let upnVerifier: TokenVerifier;
    before(async () => {
      const jwk = { ...(await exportJWK(idp.publicKey)), kid: 'e1' };
      const bundle = referenceText.replace('  required: true\n', `  required: true\n  issuers:\n    - issuer: https://login.acme.dev\n      audience: tollgate\n      algorithms: [ES256]\n` +
        `      user_claim: upn\n      roles_claim: groups\n      tenant_claim: tid\n      agent_claim: azp\n      jwks: ${JSON.stringify({ keys: [jwk] })}\n`);
      upnVerifier = TokenVerifier.create(policyFrom(bundle), keys);
    });
    const sign = (claims: Record<string, unknown>): Promise<string> =>
      new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'e1' }).setIssuer('https://login.acme.dev').setAudience('tollgate').setIssuedAt(NOW / 1000).setExpirationTime(NOW / 1000 + 3600).sign(idp.privateKey);

    it('reads the person, roles, tenant and agent from the configured claims only', async () => {
      const id = await upnVerifier.verify(await sign({ upn: 'Dan@acme.dev', email: 'alice@acme.dev', groups: ['ml-engineers'], roles: ['admins'], tid: 't1', tenant: 'other', azp: 'ci-bot', agent: 'granted' }), NOW);
      assert.deepEqual({ user: id.user, roles: id.roles, tenant: id.tenant, agent: id.agent }, { user: 'dan@acme.dev', roles: ['ml-engineers'], tenant: 't1', agent: 'ci-bot' });
    });

    it('refuses a token without the configured user claim, naming it, even when email and sub name someone', async () => {
      // alice@acme.dev holds marketing-analysts in the bundle: a fallback would hand her roles to this token.
      await assert.rejects(upnVerifier.verify(await sign({ email: 'alice@acme.dev', sub: 'alice@acme.dev', groups: [] }), NOW), (e: unknown) => {
        assert.ok(IdentityError.is(e, 'missing-user-claim'), String(e));
        assert.match(e.message, /'upn'/);
        return true;
      });
    });

    it('refuses a configured user claim that is not a string', async () => {
      await assert.rejects(upnVerifier.verify(await sign({ upn: ['dan@acme.dev'], email: 'alice@acme.dev' }), NOW), (e: unknown) => IdentityError.is(e, 'missing-user-claim'));
    });

    it('refuses an agent claim a header could not carry', async () => {
      await assert.rejects(upnVerifier.verify(await sign({ upn: 'dan@acme.dev', azp: 'two words' }), NOW), (e: unknown) => IdentityError.is(e, 'invalid-agent'));
    });
  });

  it('tollgate token prints a verifiable token for the person, agent and roles given', async () => {
    const d = tempDir();
    const r = await runTollgate(['token', '--user', 'Bob@acme.dev', '--agent', 'ci', '--role', 'ml-engineers', '--ttl', '2h', '--data-dir', d]);
    assert.equal(r.code, 0, r.stderr);
    const v = TokenVerifier.create(referencePolicy(), loadSessionKeys(d));
    const id = await v.verify(r.stdout.trim(), Date.now());
    assert.equal(id.user, 'bob@acme.dev');
    assert.equal(id.agent, 'ci');
    assert.ok(id.roles.includes('ml-engineers'));
    assert.equal(fs.statSync(path.join(d, 'session-key.pem')).mode & 0o777, 0o600);
    const bad = await runTollgate(['token', '--data-dir', d]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--user is required/);
  });
});
