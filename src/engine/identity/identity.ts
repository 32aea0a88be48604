// Who a request is for: the verified person and the sub-identities that subdivide them.

import { AGENT_SCOPE_INVALID_MESSAGE, SIGN_IN_REQUIRED_MESSAGE } from '../../contracts/sign-in';
import type { TokenScope } from './token-scope';

/** The token a verified identity came from, as revocation, scope and `token list` read it. */
export interface TokenFacts {
  /** The token's id (`jti`); absent when an identity provider's token carries none. */
  readonly id?: string;
  /** When it was issued (`iat`), ms; absent when the token does not say. */
  readonly issuedAt?: number;
  readonly expiresAt: number;
  /** The key id (`kid`) in its header, if any. */
  readonly kid?: string;
  /** The agent the token itself names, whatever x-tollgate-agent says. */
  readonly agent?: string;
  /** What the token may be used for, within the bundle's grant. */
  readonly scope?: TokenScope;
}

export interface Identity {
  /** The natural person, an e-mail lower-cased so nobody gets two buckets. */
  readonly user: string;
  /** The workload acting for the person: x-tollgate-agent, else the token's agent claim, else "default". */
  readonly agent: string;
  readonly session: string;
  readonly roles: readonly string[];
  readonly tenant?: string;
  /** Which verifier vouched for it: the proxy's own session key or a named identity provider. */
  readonly issuer: string;
  /**
   * The agent was named by the caller's x-tollgate-agent header rather than vouched for by the
   * token. It still subdivides the person, but an exception granted to an agent does not apply:
   * a header must never widen what a person may spend.
   */
  readonly agentAsserted?: boolean;
  /** The verified token's facts; absent for an anonymous caller. */
  readonly token?: TokenFacts;
}

export type IdentityFailure =
  | 'missing'
  | 'malformed'
  | 'unknown-issuer'
  | 'alg-none'
  | 'algorithm-confusion'
  | 'algorithm-not-allowed'
  | 'bad-signature'
  | 'expired'
  | 'not-yet-valid'
  | 'wrong-audience'
  | 'wrong-issuer'
  | 'non-canonical'
  | 'missing-user-claim'
  | 'invalid-agent'
  /** The editor's placeholder: its terminals' calls while the developer has not signed in. */
  | 'sign-in-required'
  /** The editor's placeholder for an agent whose scope setting does not read. */
  | 'agent-scope-invalid'
  | 'malformed-scope'
  | 'unknown-key'
  | 'revoked'
  | 'revocations-unreadable';

const explanations: Record<IdentityFailure, string> = {
  missing: 'no identity token: send your Tollgate token as the API key (Authorization: Bearer or x-api-key)',
  malformed: 'the identity token is not a well-formed JWT',
  'unknown-issuer': 'the identity token comes from an issuer this policy does not trust',
  'alg-none': 'the identity token is unsigned (alg: none)',
  'algorithm-confusion': 'the identity token uses a symmetric algorithm where only public-key signatures are accepted',
  'algorithm-not-allowed': 'the identity token uses an algorithm this policy does not accept',
  'bad-signature': 'the identity token signature does not verify',
  expired: 'the identity token has expired',
  'not-yet-valid': 'the identity token is not valid yet',
  'wrong-audience': 'the identity token is for another audience',
  'wrong-issuer': 'the identity token issuer does not match',
  'non-canonical': 'the identity token is not in canonical base64url (no padding, no stray bits), so it is not the exact token its issuer signed',
  'missing-user-claim': 'the identity token does not name a person in the claim this issuer is configured to name them with',
  'invalid-agent': 'x-tollgate-agent must be 1 to 64 characters of letters, digits, ".", "_", ":", "/" or "-"',
  'sign-in-required': SIGN_IN_REQUIRED_MESSAGE,
  'agent-scope-invalid': AGENT_SCOPE_INVALID_MESSAGE,
  'malformed-scope': 'the identity token carries a tollgate_scope claim that cannot be read, so it is refused rather than used unscoped',
  'unknown-key': 'the identity token names a signing key (kid) this proxy does not have',
  revoked: 'the identity token has been revoked: ask for a new one (tollgate token, or sign in again in the editor)',
  'revocations-unreadable': 'the revocation list cannot be read, so tokens it could name are refused until it is fixed',
};

/** An identity that could not be verified; `reason` is stable, the message is for people. */
export class IdentityError extends Error {
  constructor(
    readonly reason: IdentityFailure,
    detail?: string,
  ) {
    super(detail ? `${explanations[reason]} (${detail})` : explanations[reason]);
    this.name = 'IdentityError';
  }
  static is(err: unknown, reason?: IdentityFailure): err is IdentityError {
    return err instanceof IdentityError && (reason === undefined || err.reason === reason);
  }
}

/** E-mail addresses compare case-insensitively; trimming stops " Alice@x" becoming a new person. */
export function normalizeUser(user: string): string {
  return user.trim().toLowerCase();
}

const agentPattern = /^[A-Za-z0-9._:/-]{1,64}$/;

/** An agent name travels upstream in a header and keys accumulators, so its characters are few. */
export function isAgentName(name: string): boolean {
  return agentPattern.test(name);
}

/** Applies the caller's x-tollgate-agent header: it subdivides the person, never replaces them. */
export function withAgent(identity: Identity, header: string | undefined): Identity {
  if (header === undefined || header === '' || header === identity.agent) return identity;
  if (!isAgentName(header)) throw new IdentityError('invalid-agent');
  return { ...identity, agent: header, agentAsserted: true };
}
