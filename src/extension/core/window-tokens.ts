// The tokens this window has handed to its terminals: what "Sign Out" revokes, and what a
// revocation the proxy announces is matched against. Only a token's claims are kept, never its text.

import { randomUUID } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { RevocationView } from '../../contracts/admin';
import { SESSION_ISSUER } from '../../engine/identity/claims';
import type { Identity } from '../../engine/identity/identity';
import { normalizeUser } from '../../engine/identity/identity';
import type { Revocation } from '../../engine/identity/revocation';
import { revokes } from '../../engine/identity/revocation';

/** How long past a token's expiry its revocation is kept, as `tollgate token revoke --id` keeps it. */
const KEPT_PAST_EXPIRY_MS = 60_000;

/** One token a window handed out, as the proxy would see it once verified. */
export interface HandedToken {
  /** The token's id (`jti`); an identity provider's token may carry none. */
  readonly id: string | undefined;
  readonly user: string;
  /** The agent the token names, if any. */
  readonly agent: string | undefined;
  readonly session: string;
  /** ms since the epoch; undefined when the token does not say. */
  readonly issuedAt: number | undefined;
  readonly expiresAt: number;
  readonly kid: string | undefined;
  /** Minted from the data dir's session key (by this editor), as opposed to pasted from an identity provider. */
  readonly minted: boolean;
}

/** What a token says about itself (unverified: the proxy verifies), or undefined when it names nobody. */
export function handedTokenOf(token: string, userClaim = 'email'): HandedToken | undefined {
  try {
    const claims = decodeJwt(token);
    const header = decodeProtectedHeader(token);
    const named = typeof claims[userClaim] === 'string' ? (claims[userClaim] as string) : claims.sub;
    if (typeof named !== 'string' || typeof claims.exp !== 'number') return undefined;
    return {
      id: typeof claims.jti === 'string' ? claims.jti : undefined,
      user: normalizeUser(named),
      agent: typeof claims.agent === 'string' ? claims.agent : undefined,
      session: typeof claims.sid === 'string' ? claims.sid : '',
      issuedAt: typeof claims.iat === 'number' ? claims.iat * 1000 : undefined,
      expiresAt: claims.exp * 1000,
      kid: typeof header.kid === 'string' ? header.kid : undefined,
      minted: claims.iss === SESSION_ISSUER,
    };
  } catch {
    return undefined;
  }
}

/** The identity the proxy would verify from a handed token, for the engine's revocation rules. */
function identityOf(t: HandedToken): Identity {
  return {
    user: t.user, agent: t.agent ?? 'default', session: t.session, roles: [], issuer: t.minted ? SESSION_ISSUER : 'identity-provider',
    token: { ...(t.id ? { id: t.id } : {}), ...(t.issuedAt !== undefined ? { issuedAt: t.issuedAt } : {}), expiresAt: t.expiresAt, ...(t.kid ? { kid: t.kid } : {}), ...(t.agent ? { agent: t.agent } : {}) },
  };
}

/** A revocation as the stream announced it, in the engine's terms (its expiry plays no part in matching). */
export function revocationOfView(v: RevocationView): Revocation {
  return {
    id: v.id, target: v.target, value: v.value, ...(v.user !== null ? { user: v.user } : {}), revokedAt: Date.parse(v.revoked_at),
    expiresAt: Number.POSITIVE_INFINITY, ...(v.reason !== null ? { reason: v.reason } : {}),
  };
}

export class WindowTokens {
  private readonly handed: HandedToken[] = [];

  /** Notes a token the window now hands to its terminals; returns what it says, or undefined for one that names nobody. */
  note(token: string): HandedToken | undefined {
    const t = handedTokenOf(token);
    if (!t) return undefined;
    const same = (x: HandedToken): boolean => (t.id !== undefined ? x.id === t.id : x.id === undefined && x.user === t.user && x.issuedAt === t.issuedAt && x.expiresAt === t.expiresAt);
    if (!this.handed.some(same)) this.handed.push(t);
    return t;
  }

  /** The tokens still live at `now`, oldest first. */
  live(now: number): HandedToken[] {
    return this.handed.filter((t) => t.expiresAt > now);
  }

  /** The handed tokens a revocation refuses. */
  revokedBy(view: RevocationView): HandedToken[] {
    const r = revocationOfView(view);
    if (!Number.isFinite(r.revokedAt)) return [];
    return this.handed.filter((t) => revokes(r, identityOf(t)));
  }

  /**
   * One revocation per live token this editor minted, by its id, as `tollgate token revoke --id`
   * writes it. A pasted identity-provider token is only forgotten: it belongs to its provider.
   */
  revocationsForSignOut(now: number, reason: string, newId: () => string = () => `rv_${randomUUID()}`): Revocation[] {
    return this.live(now)
      .filter((t): t is HandedToken & { id: string } => t.minted && t.id !== undefined)
      .map((t) => ({ id: newId(), target: 'token' as const, value: t.id, revokedAt: now, expiresAt: t.expiresAt + KEPT_PAST_EXPIRY_MS, reason }));
  }

  /** Forgets these tokens (revoked already: a later revocation naming them again is no news). */
  forget(tokens: readonly HandedToken[]): void {
    for (const t of tokens) {
      const i = this.handed.indexOf(t);
      if (i >= 0) this.handed.splice(i, 1);
    }
  }

  /** Forgets every token: after signing out, nothing announced later is about this window. */
  clear(): void {
    this.handed.length = 0;
  }
}
