import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { APPROVAL_AUDIENCE, APPROVAL_TOKEN_TYPE, ApprovalTokenError, grantCovers, mintApprovalToken, verifyApprovalToken } from '../../../src/engine/identity/approval-token';
import { SESSION_ISSUER } from '../../../src/engine/identity/claims';
import { IdentityError } from '../../../src/engine/identity/identity';
import type { Identity } from '../../../src/engine/identity/identity';
import type { SessionKeys, SessionKeySource } from '../../../src/engine/identity/tokens';
import { keyId, mintSessionToken, TokenVerifier } from '../../../src/engine/identity/tokens';
import { NOW, referencePolicy } from '../../helpers/policy';

// Approval tokens: signed with the session key ring, never taken for a session token nor the reverse.

function sessionKeys(): SessionKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, kid: keyId(publicKey) };
}

function source(keys: SessionKeys, revoked = false): SessionKeySource {
  return { keys: () => [{ kid: keys.kid, publicKey: keys.publicKey, revoked }] };
}

const TOOL = 'mcp__everything__get-env';
const alice: Identity = { user: 'alice@acme.dev', agent: 'claude-code', session: 's', roles: [], issuer: SESSION_ISSUER };

describe('approval tokens', () => {
  const keys = sessionKeys();

  it('verifies a token it minted: who, which tools, its id and expiry', async () => {
    const token = await mintApprovalToken(keys, { user: 'Alice@Acme.dev', tool: 'mcp__everything__*', ttlMs: 600_000, now: NOW, id: 'jti-1' });
    const grant = await verifyApprovalToken(token, source(keys), NOW + 1000);
    assert.deepEqual(grant, { id: 'jti-1', user: 'alice@acme.dev', agent: null, tool: 'mcp__everything__*', issuedAt: Math.floor(NOW / 1000) * 1000, expiresAt: Math.floor(NOW / 1000) * 1000 + 600_000, kid: keys.kid });
    assert.equal(grantCovers(grant, alice, TOOL), undefined);
    assert.match(grantCovers(grant, { ...alice, user: 'bob@acme.dev' }, TOOL)!, /another person/);
    assert.match(grantCovers(grant, alice, 'mcp__files__write_file')!, /approves 'mcp__everything__\*'/);
    const forCi = await verifyApprovalToken(await mintApprovalToken(keys, { user: 'alice@acme.dev', agent: 'ci', tool: TOOL, ttlMs: 60_000, now: NOW }), source(keys), NOW);
    assert.match(grantCovers(forCi, alice, TOOL)!, /granted to agent 'ci'/);
    assert.equal(grantCovers(forCi, { ...alice, agent: 'ci' }, TOOL), undefined);
  });

  it('refuses an expired token, a forged one, one of an unknown or revoked key', async () => {
    const token = await mintApprovalToken(keys, { user: 'alice@acme.dev', tool: TOOL, ttlMs: 60_000, now: NOW });
    await assert.rejects(verifyApprovalToken(token, source(keys), NOW + 120_000), (e: unknown) => ApprovalTokenError.is(e, 'expired'));
    const other = sessionKeys();
    const forged = await mintApprovalToken({ ...other, kid: keys.kid }, { user: 'alice@acme.dev', tool: TOOL, ttlMs: 60_000, now: NOW });
    await assert.rejects(verifyApprovalToken(forged, source(keys), NOW), (e: unknown) => ApprovalTokenError.is(e, 'bad-signature'));
    await assert.rejects(verifyApprovalToken(await mintApprovalToken(other, { user: 'alice@acme.dev', tool: TOOL, ttlMs: 60_000, now: NOW }), source(keys), NOW), (e: unknown) => ApprovalTokenError.is(e, 'unknown-key'));
    await assert.rejects(verifyApprovalToken(token, source(keys, true), NOW), (e: unknown) => ApprovalTokenError.is(e, 'revoked'));
    const [h, p] = token.split('.');
    await assert.rejects(verifyApprovalToken(`${h}.${p}.AAAA`, source(keys), NOW), (e: unknown) => ApprovalTokenError.is(e, 'bad-signature'));
    await assert.rejects(verifyApprovalToken('not-a-jwt', source(keys), NOW), (e: unknown) => ApprovalTokenError.is(e, 'malformed'));
  });

  it('refuses a session token presented as an approval token', async () => {
    const session = await mintSessionToken(keys, { user: 'alice@acme.dev', ttlMs: 600_000, now: NOW });
    await assert.rejects(verifyApprovalToken(session, source(keys), NOW), (e: unknown) => ApprovalTokenError.is(e, 'not-an-approval-token'));
    // Even one that claims the approval type in its header: its audience is the proxy's.
    const retyped = await new SignJWT({ email: 'alice@acme.dev', tollgate_approval: { tool: '*' } })
      .setProtectedHeader({ alg: 'EdDSA', typ: APPROVAL_TOKEN_TYPE, kid: keys.kid }).setIssuer(SESSION_ISSUER).setAudience('tollgate-proxy').setSubject('alice@acme.dev')
      .setIssuedAt(Math.floor(NOW / 1000)).setExpirationTime(Math.floor(NOW / 1000) + 600).setJti('x').sign(keys.privateKey);
    await assert.rejects(verifyApprovalToken(retyped, source(keys), NOW), (e: unknown) => ApprovalTokenError.is(e, 'not-an-approval-token'));
  });

  it('is never taken as a session token', async () => {
    const approval = await mintApprovalToken(keys, { user: 'alice@acme.dev', tool: '*', ttlMs: 600_000, now: NOW });
    const verifier = TokenVerifier.create(referencePolicy(), { publicKey: keys.publicKey, kid: keys.kid });
    await assert.rejects(verifier.verify(approval, NOW), (e: unknown) => IdentityError.is(e, 'wrong-audience'));
  });

  it('refuses a token signed to live longer than 1h, and mints none', async () => {
    const iat = Math.floor(NOW / 1000);
    const long = await new SignJWT({ tollgate_approval: { tool: TOOL } })
      .setProtectedHeader({ alg: 'EdDSA', typ: APPROVAL_TOKEN_TYPE, kid: keys.kid }).setIssuer(SESSION_ISSUER).setAudience(APPROVAL_AUDIENCE).setSubject('alice@acme.dev')
      .setIssuedAt(iat).setExpirationTime(iat + 7200).setJti('long').sign(keys.privateKey);
    await assert.rejects(verifyApprovalToken(long, source(keys), NOW), (e: unknown) => ApprovalTokenError.is(e, 'too-long'));
    await assert.rejects(mintApprovalToken(keys, { user: 'alice@acme.dev', tool: TOOL, ttlMs: 7_200_000, now: NOW }), (e: unknown) => ApprovalTokenError.is(e, 'too-long'));
  });
});
