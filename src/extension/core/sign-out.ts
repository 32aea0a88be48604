// Signing out: the window revokes every live session token it minted (by id, in the data dir's
// revocation list, as `tollgate token revoke --id` does; each proxy on the data dir records the
// revocation in its ledger when it takes it into force), forgets the identity it kept, and hands
// its terminals the sign-in placeholder until the person signs in again. The adapter supplies the
// storage; the order is here.

import type { Revocation } from '../../engine/identity/revocation';
import { counted } from '../../contracts/wording';
import type { WindowTokens } from './window-tokens';

/** The reason the ledger's revocation record gives. */
export const SIGN_OUT_REASON = 'signed out in the editor';

export interface SignOutPorts {
  /** Stops handing tokens out (renewals included) until the person signs in again. */
  markSignedOut(): Promise<void>;
  /** Forgets the session token, a pasted identity-provider token and the address the sign-in kept. */
  forget(): Promise<void>;
  /** Adds the revocations to the data dir's list; throws when the list cannot be written. */
  revoke(revocations: readonly Revocation[], now: number): void;
}

export interface SignOutResult {
  /** How many tokens were revoked. */
  readonly revoked: number;
  /** Why the revocations could not be written: the tokens then stay valid until they expire. */
  readonly problem?: string;
}

export async function signOut(tokens: WindowTokens, ports: SignOutPorts, now: number): Promise<SignOutResult> {
  const revocations = tokens.revocationsForSignOut(now, SIGN_OUT_REASON);
  // First: nothing mints a new token meanwhile, and the revocations the proxy announces back are
  // no longer this window's (they are not news to the person who signed out).
  await ports.markSignedOut();
  tokens.clear();
  await ports.forget();
  if (revocations.length === 0) return { revoked: 0 };
  try {
    ports.revoke(revocations, now);
  } catch (err) {
    return { revoked: 0, problem: (err as Error).message };
  }
  return { revoked: revocations.length };
}

export function signedOutMessage(r: SignOutResult): string {
  if (r.problem) return `Tollgate: signed out, but the window's session tokens could not be revoked (${r.problem}); they stay valid until they expire.`;
  const revoked = r.revoked > 0 ? ` and revoked ${counted(r.revoked, 'session token')} this window handed out` : '';
  return `Tollgate: signed out${revoked}. Calls from the terminals are refused until you sign in again.`;
}
