// How a token's claims become the Identity a call is decided for: which issuers are trusted and
// which claims each names the person with, the bundle's roles merged with the token's, the agent
// claim, and the caller's x-tollgate-agent header. One resolution: the proxy runs it on a token it
// has verified, the quota preview on the token the editor sends, so both decide for the same person.

import type { IssuerConfig, Policy } from '../policy/model';
import type { Identity, TokenFacts } from './identity';
import { IdentityError, isAgentName, normalizeUser, withAgent } from './identity';
import type { TokenScope } from './token-scope';
import { MAX_CAPPED_TOKEN_TTL_MS, parseScopeClaim, SCOPE_CLAIM, ScopeError } from './token-scope';

/** Issuer of the proxy's own session tokens; the loader refuses an identity provider of this name. */
export const SESSION_ISSUER = 'tollgate';

/** Which claims say who the token is for; no other claim is ever read in their place. */
export interface ClaimNames {
  readonly user: string;
  readonly roles: string;
  readonly tenant: string;
  readonly agent?: string;
}

/** The proxy's own session tokens, as mintSessionToken writes them. */
export const SESSION_CLAIMS: ClaimNames = { user: 'email', roles: 'roles', tenant: 'tenant', agent: 'agent' };

export interface TrustedIssuer {
  readonly issuer: string;
  readonly claims: ClaimNames;
  /** The bundle's entry for an identity provider; absent for the proxy's own session tokens. */
  readonly provider?: IssuerConfig;
}

/**
 * The issuers whose tokens name a person, in the order a token's `iss` is looked up: the proxy's
 * own session tokens first (where it holds a session key), then the bundle's identity providers.
 */
export function trustedIssuers(policy: Policy, sessionTokens: boolean): TrustedIssuer[] {
  const out: TrustedIssuer[] = sessionTokens ? [{ issuer: SESSION_ISSUER, claims: SESSION_CLAIMS }] : [];
  for (const p of policy.identity.issuers) {
    out.push({ issuer: p.issuer, claims: { user: p.userClaim, roles: p.rolesClaim, tenant: p.tenantClaim, agent: p.agentClaim }, provider: p });
  }
  return out;
}

/** The trusted issuer a token's `iss` names, or the refusal a token of any other issuer gets. */
export function issuerNamed<T extends TrustedIssuer>(trusted: readonly T[], iss: string | undefined): T {
  const found = trusted.find((t) => t.issuer === iss);
  if (!found) throw new IdentityError('unknown-issuer', iss ? `iss ${JSON.stringify(iss).slice(0, 80)}` : 'no iss claim');
  return found;
}

/** The person a token's claims name, with the bundle's roles for them added to the token's own. */
export function identityFromClaims(policy: Policy, from: TrustedIssuer, claims: Readonly<Record<string, unknown>>): Identity {
  const names = from.claims;
  // Only the configured claim names the person: falling back to email or sub would let a token
  // without it pass as whoever those claims name, with that person's roles and budgets.
  const rawUser = claims[names.user];
  if (typeof rawUser !== 'string' || rawUser.trim() === '') {
    throw new IdentityError('missing-user-claim', rawUser === undefined ? `no '${names.user}' claim` : `the '${names.user}' claim is not a non-empty string`);
  }
  const user = normalizeUser(rawUser);
  const claimedRoles = claims[names.roles];
  const tokenRoles = Array.isArray(claimedRoles) ? claimedRoles.filter((r): r is string => typeof r === 'string') : [];
  const bundleRoles = policy.identity.roles.get(user) ?? [];
  const roles = [...new Set([...bundleRoles, ...tokenRoles])];
  const tenantValue = claims[names.tenant];
  const agentValue = names.agent === undefined ? undefined : claims[names.agent];
  if (agentValue !== undefined && (typeof agentValue !== 'string' || !isAgentName(agentValue))) throw new IdentityError('invalid-agent', `the token's '${names.agent}' claim`);
  const agent = agentValue || 'default';
  const session = typeof claims.sid === 'string' ? claims.sid : typeof claims.jti === 'string' ? claims.jti : `${from.issuer}:${user}`;
  return { user, agent, session, roles, tenant: typeof tenantValue === 'string' ? tenantValue : undefined, issuer: from.issuer };
}

/**
 * The person a token names together with what the token says about itself (id, times, key, its
 * own agent claim, scope): what revocation and the token's scope are checked against.
 */
export function tokenIdentity(policy: Policy, from: TrustedIssuer, claims: Readonly<Record<string, unknown>>, kid: string | undefined): Identity {
  const identity = identityFromClaims(policy, from, claims);
  const agentClaim = from.claims.agent === undefined ? undefined : claims[from.claims.agent];
  return { ...identity, token: tokenFacts(claims, kid, typeof agentClaim === 'string' ? agentClaim : undefined) };
}

/** What a verified token says about itself: id, times, key, agent and scope. */
function tokenFacts(p: Readonly<Record<string, unknown>>, kid: string | undefined, agent: string | undefined): TokenFacts {
  let scope: TokenScope | undefined;
  try {
    scope = parseScopeClaim(p[SCOPE_CLAIM]);
  } catch (err) {
    if (ScopeError.is(err)) throw new IdentityError('malformed-scope', err.message);
    throw err;
  }
  const issuedAt = typeof p.iat === 'number' ? p.iat * 1000 : undefined;
  const expiresAt = typeof p.exp === 'number' ? p.exp * 1000 : 0;
  // A lifetime cap is kept as an accumulator over the horizon the ledger restores after a restart.
  if (scope?.maxUsd !== undefined && (issuedAt === undefined || expiresAt - issuedAt > MAX_CAPPED_TOKEN_TTL_MS)) {
    throw new IdentityError('malformed-scope', 'a token with max_usd must carry iat and live at most 24 hours');
  }
  if (typeof p.jti === 'string' && (p.jti.length === 0 || p.jti.length > 128)) throw new IdentityError('malformed', 'jti');
  return { id: typeof p.jti === 'string' ? p.jti : undefined, issuedAt, expiresAt, kid, agent, scope };
}

/** Who a call without a token is for, where the bundle does not require one. */
export const ANONYMOUS: Identity = { user: 'anonymous', agent: 'default', session: 'anonymous', roles: [], issuer: 'none' };

/**
 * Who a call is for: the token's person (read by `readToken`, which throws an IdentityError for a
 * token it does not accept), or anonymous where the bundle allows a call without one, subdivided by
 * the caller's x-tollgate-agent header.
 */
export async function callerIdentity(
  policy: Policy,
  token: string | undefined,
  agentHeader: string | undefined,
  readToken: (token: string | undefined) => Identity | Promise<Identity>,
): Promise<Identity> {
  const identity = !token && !policy.identity.required ? ANONYMOUS : await readToken(token);
  return withAgent(identity, agentHeader);
}
