// The developer's identity for the proxy: a session token the proxy can verify, minted with the
// data dir's session key for the person named by the setting or `git config user.email`, or an
// identity-provider token the developer pasted. Tokens are re-minted before they expire.

import { execFile } from 'node:child_process';
import { decodeJwt } from 'jose';
import { mintSessionToken } from '../../engine/identity/tokens';
import { loadSessionKeys } from '../../store/session-key';
import type { LiveIdentity } from '../live-state';

export class IdentityUnavailableError extends Error {
  readonly reason = 'no-user' as const;
  constructor(message: string) {
    super(message);
    this.name = 'IdentityUnavailableError';
  }
  static is(err: unknown): err is IdentityUnavailableError {
    return err instanceof IdentityUnavailableError;
  }
}

/** `git config user.email` in `cwd`, or undefined when git or the setting is missing. */
export function gitUserEmail(cwd: string | undefined): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', ['config', 'user.email'], { cwd: cwd ?? process.cwd(), timeout: 3_000 }, (err, stdout) => {
      const email = err ? '' : stdout.trim();
      resolve(email.includes('@') ? email : undefined);
    });
  });
}

export async function resolveUser(setting: string, cwd: string | undefined): Promise<string> {
  if (setting) return setting;
  const email = await gitUserEmail(cwd);
  if (email) return email;
  throw new IdentityUnavailableError('no identity: set `tollgate.user` or `git config user.email`, or paste an identity-provider token');
}

export interface TokenFacts {
  readonly user: string;
  readonly agent: string;
  readonly roles: readonly string[];
  /** Expiry in ms since the epoch, if the token has one. */
  readonly expiresAt: number | undefined;
}

/** What a token says about its holder (unverified: the proxy verifies; this only labels the views). */
export function tokenFacts(token: string, userClaim = 'email'): TokenFacts | undefined {
  try {
    const claims = decodeJwt(token);
    const user = typeof claims[userClaim] === 'string' ? (claims[userClaim] as string) : typeof claims.sub === 'string' ? claims.sub : undefined;
    if (!user) return undefined;
    const roles = Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [];
    return { user, agent: typeof claims.agent === 'string' ? claims.agent : 'default', roles, expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : undefined };
  } catch {
    return undefined;
  }
}

/** True when the token is missing, unreadable, or expires within `marginMs`. */
export function needsRenewal(token: string | undefined, now: number, marginMs = 10 * 60_000): boolean {
  if (!token) return true;
  const facts = tokenFacts(token);
  if (!facts) return true;
  return facts.expiresAt !== undefined && facts.expiresAt - now < marginMs;
}

export async function mintEditorToken(dataDir: string, user: string, agent: string, ttlMs: number, now: number): Promise<string> {
  return mintSessionToken(loadSessionKeys(dataDir), { user, agent, ttlMs, now });
}

export function liveIdentityOf(facts: TokenFacts | undefined): LiveIdentity | undefined {
  return facts ? { user: facts.user, agent: facts.agent, roles: facts.roles } : undefined;
}
