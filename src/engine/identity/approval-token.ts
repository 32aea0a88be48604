import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import { globMatch } from '../glob';
import { SESSION_ISSUER } from './claims';
import type { Identity } from './identity';
import { normalizeUser } from './identity';
import type { SessionKeys, SessionKeySource } from './tokens';
import { signWithSessionKey } from './tokens';

// Approval tokens: a short-lived JWT, signed with the proxy's session key ring as session tokens
// are, that lets one person (and optionally one agent) call the tools matching a glob without
// asking anyone, where nobody could be asked (the command line, the team gateway). Its own audience
// and `typ` keep it apart from a session token in both directions: neither is ever taken for the other.

export const APPROVAL_AUDIENCE = 'tollgate-approval';
/** The JOSE header `typ` of an approval token (a session token says `JWT`). */
export const APPROVAL_TOKEN_TYPE = 'tollgate-approval+jwt';
/** The claim holding what the token approves. */
export const APPROVAL_CLAIM = 'tollgate_approval';
/** The longest an approval token may live. */
export const MAX_APPROVAL_TTL_MS = 3_600_000;
/** A tool glob as an approval token may carry it. */
export const APPROVAL_TOOL_PATTERN = /^[A-Za-z0-9_.:/*?-]{1,256}$/;

/** What a verified approval token allows. */
export interface ApprovalGrant {
  /** The token's id (`jti`): the ledger names the approval `token:<id>`, and `tollgate token revoke --id` revokes it. */
  readonly id: string;
  readonly user: string;
  readonly agent: string | null;
  /** The tools it approves, as a glob over `mcp__<server>__<tool>` names. */
  readonly tool: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly kid: string;
}

export class ApprovalTokenError extends Error {
  constructor(
    readonly reason: 'malformed' | 'not-an-approval-token' | 'bad-signature' | 'expired' | 'not-yet-valid' | 'unknown-key' | 'revoked' | 'too-long',
    message: string,
  ) {
    super(message);
    this.name = 'ApprovalTokenError';
  }
  static is(err: unknown, reason?: ApprovalTokenError['reason']): err is ApprovalTokenError {
    return err instanceof ApprovalTokenError && (reason === undefined || err.reason === reason);
  }
}

export interface ApprovalMintOptions {
  readonly user: string;
  readonly agent?: string;
  readonly tool: string;
  readonly ttlMs: number;
  readonly now: number;
  readonly id?: string;
}

export async function mintApprovalToken(keys: SessionKeys, o: ApprovalMintOptions): Promise<string> {
  if (o.ttlMs <= 0 || o.ttlMs > MAX_APPROVAL_TTL_MS) throw new ApprovalTokenError('too-long', 'an approval token lives at most 1h');
  if (!APPROVAL_TOOL_PATTERN.test(o.tool)) throw new ApprovalTokenError('malformed', 'the tool must be a name or glob of letters, digits, "_", ".", ":", "/", "-", "*" and "?"');
  const claims: Record<string, unknown> = { [APPROVAL_CLAIM]: { tool: o.tool } };
  if (o.agent) claims.agent = o.agent;
  return signWithSessionKey(keys, claims, { typ: APPROVAL_TOKEN_TYPE, audience: APPROVAL_AUDIENCE, user: o.user, now: o.now, ttlMs: o.ttlMs, id: o.id });
}

/** Verifies an approval token against the session key ring: signature, key in force, type, audience, expiry, lifetime. */
export async function verifyApprovalToken(token: string, keys: SessionKeySource, now: number): Promise<ApprovalGrant> {
  if (token.length > 4096 || token.split('.').length !== 3) throw new ApprovalTokenError('malformed', 'it is not a JWT');
  let header: { alg?: string; kid?: unknown; typ?: string };
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new ApprovalTokenError('malformed', 'its header does not read');
  }
  // A session token (typ JWT, audience tollgate-proxy) is refused here before its signature is even tried.
  if (header.typ !== APPROVAL_TOKEN_TYPE) throw new ApprovalTokenError('not-an-approval-token', `it is not an approval token (typ ${JSON.stringify(header.typ ?? null).slice(0, 40)}); a session token never approves a call`);
  if (header.alg !== 'EdDSA') throw new ApprovalTokenError('bad-signature', 'it is not signed with a session key (EdDSA)');
  if (typeof header.kid !== 'string') throw new ApprovalTokenError('unknown-key', 'it names no signing key (kid)');
  const kid = header.kid;
  let key = keys.keys().find((k) => k.kid === kid);
  if (!key && keys.refresh?.()) key = keys.keys().find((k) => k.kid === kid);
  if (!key) throw new ApprovalTokenError('unknown-key', 'it names a signing key this proxy does not have');
  if (key.revoked) throw new ApprovalTokenError('revoked', 'its signing key was revoked');
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, key.publicKey, {
      issuer: SESSION_ISSUER, audience: APPROVAL_AUDIENCE, algorithms: ['EdDSA'], typ: APPROVAL_TOKEN_TYPE, currentDate: new Date(now), clockTolerance: 5,
      requiredClaims: ['exp', 'iat', 'jti', 'sub'],
    }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw new ApprovalTokenError('expired', 'it has expired');
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) throw new ApprovalTokenError('bad-signature', 'its signature does not verify');
    if (err instanceof joseErrors.JWTClaimValidationFailed && (err.claim === 'nbf' || err.claim === 'iat')) throw new ApprovalTokenError('not-yet-valid', 'it is not valid yet');
    if (err instanceof joseErrors.JWTClaimValidationFailed) throw new ApprovalTokenError('not-an-approval-token', `its ${err.claim} claim is not an approval token's`);
    throw new ApprovalTokenError('malformed', 'it does not verify as a JWT');
  }
  const { sub, jti, iat, exp } = payload as { sub: unknown; jti: unknown; iat: unknown; exp: unknown };
  const approval = payload[APPROVAL_CLAIM] as { tool?: unknown } | undefined;
  const agent = payload.agent;
  if (typeof sub !== 'string' || sub === '' || typeof jti !== 'string' || jti === '' || jti.length > 128 || typeof iat !== 'number' || typeof exp !== 'number') {
    throw new ApprovalTokenError('malformed', 'its sub, jti, iat or exp claim is missing or malformed');
  }
  if (approval === null || typeof approval !== 'object' || typeof approval.tool !== 'string' || !APPROVAL_TOOL_PATTERN.test(approval.tool)) {
    throw new ApprovalTokenError('malformed', `its ${APPROVAL_CLAIM} claim does not name a tool`);
  }
  if (agent !== undefined && typeof agent !== 'string') throw new ApprovalTokenError('malformed', 'its agent claim is not a string');
  // Signed by the right key, it still must not outlive what `mcp grant` may issue.
  if ((exp - iat) * 1000 > MAX_APPROVAL_TTL_MS) throw new ApprovalTokenError('too-long', 'it lives longer than 1h, the longest an approval token may');
  return { id: jti, user: normalizeUser(sub), agent: agent ?? null, tool: approval.tool, issuedAt: iat * 1000, expiresAt: exp * 1000, kid };
}

/** Why the grant does not cover this identity's call of the tool, or undefined when it does. */
export function grantCovers(grant: ApprovalGrant, identity: Identity, tool: string): string | undefined {
  if (grant.user !== identity.user) return 'it was granted to another person';
  if (grant.agent !== null && grant.agent !== identity.agent) return `it was granted to agent '${grant.agent}', not '${identity.agent}'`;
  if (!globMatch(grant.tool, tool)) return `it approves '${grant.tool}', not '${tool}'`;
  return undefined;
}

/** The grant as the revocation list reads a token: its id, person, agent and key. */
export function grantIdentity(grant: ApprovalGrant): Identity {
  return {
    user: grant.user, agent: grant.agent ?? 'default', session: `approval:${grant.id}`, roles: [], issuer: SESSION_ISSUER,
    token: { id: grant.id, issuedAt: grant.issuedAt, expiresAt: grant.expiresAt, kid: grant.kid, ...(grant.agent ? { agent: grant.agent } : {}) },
  };
}
