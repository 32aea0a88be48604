import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { JWTPayload } from 'jose';
import { callerIdentity, issuerNamed, tokenIdentity, trustedIssuers } from '../engine/identity/claims';
import type { Identity } from '../engine/identity/identity';
import { IdentityError } from '../engine/identity/identity';
import type { Policy } from '../engine/policy/model';

// Who the proxy will take the editor's calls to be for, so the preview decides for that person:
// the proxy's own resolution (src/engine/identity/claims.ts) run on the token the editor sends,
// with the bundle's roles, the issuer's configured claims, the agent claim and header alike. The
// signature and the token's times are the proxy's to check: the preview only labels, and a token
// forged in one's own editor fools only one's own preview, never the proxy.

/**
 * The identity the proxy resolves for `token` (the editor's session token or a pasted
 * identity-provider token) sent with `agentHeader`; an IdentityError where the proxy would refuse
 * the token for what it says rather than for its signature or times.
 */
export function previewIdentity(policy: Policy, token: string | undefined, agentHeader?: string): Promise<Identity> {
  // The editor's proxy always holds a session key, so its own session tokens are trusted.
  const trusted = trustedIssuers(policy, true);
  return callerIdentity(policy, token, agentHeader, (t) => {
    if (!t) throw new IdentityError('missing');
    let claims: JWTPayload;
    let kid: unknown;
    try {
      claims = decodeJwt(t);
      kid = decodeProtectedHeader(t).kid;
    } catch {
      throw new IdentityError('malformed');
    }
    return tokenIdentity(policy, issuerNamed(trusted, claims.iss), claims, typeof kid === 'string' ? kid : undefined);
  });
}
