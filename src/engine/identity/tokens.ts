import { createHash, randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { JWTPayload } from 'jose';
import type { IssuerConfig, Policy, VerificationKey } from '../policy/model';
import type { Identity } from './identity';
import { segmentEncoding } from './base64url';
import { AGENT_SCOPE_PLACEHOLDER, SIGN_IN_PLACEHOLDER } from '../../contracts/sign-in';
import type { TrustedIssuer } from './claims';
import { issuerNamed, SESSION_ISSUER, tokenIdentity, trustedIssuers } from './claims';
import { IdentityError, normalizeUser } from './identity';
import type { TokenScope } from './token-scope';
import { SCOPE_CLAIM, scopeClaim } from './token-scope';

/** Audience of the proxy's own session tokens (issued as SESSION_ISSUER): standard JWTs a gateway can verify too. */
export const SESSION_AUDIENCE = 'tollgate-proxy';

export interface SessionKeys {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** Key id (a thumbprint of the public key) so a verifier holding several keys picks the right one. */
  readonly kid: string;
}

/** A key session tokens may be signed with, as a verifier holds it. */
export interface SessionVerificationKey {
  readonly kid: string;
  readonly publicKey: KeyObject;
  /** Revoked (`keys rotate --revoke-old`): tokens it signed are refused even before they expire. */
  readonly revoked?: boolean;
}

/**
 * Where a verifier reads the session keys from: the data dir's key ring, which `keys rotate`
 * changes under a running proxy. `keys()` is read on every verification, so it must be cheap.
 */
export interface SessionKeySource {
  keys(): readonly SessionVerificationKey[];
  /** Reads the ring again when it changed on disk (a token names a kid not known yet); true when it did. */
  refresh?(): boolean;
}

export interface MintOptions {
  readonly user: string;
  readonly agent?: string;
  readonly roles?: readonly string[];
  readonly tenant?: string;
  readonly ttlMs: number;
  readonly now: number;
  readonly session?: string;
  /** The token's id (`jti`); a fresh UUID when absent. */
  readonly id?: string;
  /** Narrows what the token may be used for (the `tollgate_scope` claim). */
  readonly scope?: TokenScope;
}

export async function mintSessionToken(keys: SessionKeys, o: MintOptions): Promise<string> {
  const claims: JWTPayload & Record<string, unknown> = { email: normalizeUser(o.user), sid: o.session ?? randomUUID() };
  if (o.agent) claims.agent = o.agent;
  if (o.roles && o.roles.length > 0) claims.roles = [...o.roles];
  if (o.tenant) claims.tenant = o.tenant;
  if (o.scope) claims[SCOPE_CLAIM] = scopeClaim(o.scope);
  return signWithSessionKey(keys, claims, { typ: 'JWT', audience: SESSION_AUDIENCE, user: o.user, now: o.now, ttlMs: o.ttlMs, id: o.id });
}

/**
 * Signs claims with the session key, as every token this proxy issues is signed: its key id, this
 * issuer, the person as subject, issued and valid from now, a lifetime and an id. `typ` and
 * `audience` tell one kind of token from another, so none is accepted as the other.
 */
export function signWithSessionKey(
  keys: SessionKeys,
  claims: JWTPayload & Record<string, unknown>,
  o: { readonly typ: string; readonly audience: string; readonly user: string; readonly now: number; readonly ttlMs: number; readonly id?: string },
): Promise<string> {
  const iat = Math.floor(o.now / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'EdDSA', typ: o.typ, kid: keys.kid })
    .setIssuer(SESSION_ISSUER)
    .setAudience(o.audience)
    .setSubject(normalizeUser(o.user))
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + Math.max(1, Math.floor(o.ttlMs / 1000)))
    .setJti(o.id ?? randomUUID())
    .sign(keys.privateKey);
}

export function keyId(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('base64url').slice(0, 16);
}

/**
 * A trusted issuer, the claims read from its tokens, and how its signatures are checked (the
 * bundle's keys were imported when it loaded; the proxy's own session keys come from a key source).
 */
type Verifier = TrustedIssuer & Pick<IssuerConfig, 'audience' | 'algorithms' | 'keys' | 'clockToleranceS'> & { readonly session?: SessionKeySource };

/** A single key (an old data dir, a test) as a key source. */
function singleKey(session: { publicKey: KeyObject; kid?: string }): SessionKeySource {
  const keys = [{ kid: session.kid ?? keyId(session.publicKey), publicKey: session.publicKey }];
  return { keys: () => keys };
}

function isKeySource(s: object): s is SessionKeySource {
  return typeof (s as SessionKeySource).keys === 'function';
}

function mapJoseError(err: unknown): IdentityError {
  if (err instanceof joseErrors.JWTExpired) return new IdentityError('expired');
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf' || err.claim === 'iat') return new IdentityError('not-yet-valid');
    if (err.claim === 'aud') return new IdentityError('wrong-audience');
    if (err.claim === 'iss') return new IdentityError('wrong-issuer');
    return new IdentityError('malformed', `claim ${err.claim}`);
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return new IdentityError('bad-signature');
  if (err instanceof joseErrors.JOSEAlgNotAllowed || err instanceof joseErrors.JOSENotSupported) return new IdentityError('algorithm-not-allowed');
  return new IdentityError('malformed');
}

const segmentNames = ['header', 'payload', 'signature'] as const;

interface CachedIdentity {
  readonly identity: Identity;
  readonly exp: number;
  /** The session key ring, for a session token: a key revoked later refuses the cached token too. */
  readonly session?: SessionKeySource;
}

/**
 * Verifies identity tokens: the proxy's own session tokens and the bundle's identity providers.
 * Every check is jose's (signature, algorithm allow-list, exp, nbf, iss, aud); the algorithm is
 * read from the header first only to tell "alg: none" and HMAC-with-a-public-key apart from other
 * failures. Each segment must be canonical base64url, which jose does not check. Verified tokens are
 * cached until they expire, since a client sends the same one each call.
 */
export class TokenVerifier {
  private readonly verifiers: Verifier[];
  private readonly cache = new LRUCache<string, CachedIdentity>({ max: 10_000 });

  private constructor(
    verifiers: Verifier[],
    private readonly policy: Policy,
  ) {
    this.verifiers = verifiers;
  }

  /** Cannot fail: the loader imported and checked every issuer key when it loaded the bundle. */
  static create(policy: Policy, session: { publicKey: KeyObject; kid?: string } | SessionKeySource | undefined): TokenVerifier {
    const source = session === undefined ? undefined : isKeySource(session) ? session : singleKey(session);
    const verifiers = trustedIssuers(policy, source !== undefined).map(({ provider, ...trusted }): Verifier =>
      provider
        ? { ...trusted, audience: provider.audience, algorithms: provider.algorithms, keys: provider.keys, clockToleranceS: provider.clockToleranceS }
        : { ...trusted, audience: [SESSION_AUDIENCE], algorithms: ['EdDSA'], keys: [], clockToleranceS: 5, session: source },
    );
    return new TokenVerifier(verifiers, policy);
  }

  async verify(token: string | undefined, now: number): Promise<Identity> {
    if (!token) throw new IdentityError('missing');
    if (token === SIGN_IN_PLACEHOLDER) throw new IdentityError('sign-in-required');
    if (token === AGENT_SCOPE_PLACEHOLDER) throw new IdentityError('agent-scope-invalid');
    // Only a token that passed every check below is cached, under its exact text, so a client
    // sending it again skips them all, the spelling checks included, until it expires.
    const cached = this.cache.get(token);
    if (cached && cached.exp > now) {
      // A key revoked since the token was cached takes its tokens with it.
      if (cached.session && cached.identity.token?.kid !== undefined && this.keyRevoked(cached.session, cached.identity.token.kid)) {
        this.cache.delete(token);
        throw new IdentityError('revoked', 'its signing key was revoked');
      }
      return cached.identity;
    }
    const segments = token.split('.');
    if (segments.length !== 3) throw new IdentityError('malformed');
    const encodings = segments.map(segmentEncoding);
    if (encodings.includes('malformed')) throw new IdentityError('malformed');
    // Canonical from here: one signature has one spelling, so it has one cache entry.
    if (encodings.includes('non-canonical')) throw new IdentityError('non-canonical', `the ${segmentNames[encodings.indexOf('non-canonical')]}`);

    let alg: string | undefined;
    let kid: unknown;
    let iss: string | undefined;
    try {
      ({ alg, kid } = decodeProtectedHeader(token));
      iss = decodeJwt(token).iss;
    } catch {
      throw new IdentityError('malformed');
    }
    if (!alg || alg.toLowerCase() === 'none') throw new IdentityError('alg-none');
    const verifier = issuerNamed(this.verifiers, iss);
    if (/^HS/i.test(alg)) throw new IdentityError('algorithm-confusion', alg);
    if (!verifier.algorithms.includes(alg)) throw new IdentityError('algorithm-not-allowed', alg);

    const candidates = verifier.session ? this.sessionCandidates(verifier.session, kid) : this.issuerCandidates(verifier, alg, kid);
    const payload = await this.verifyWithAny(token, candidates, verifier, now);
    const identity = this.toIdentity(payload, verifier, typeof kid === 'string' ? kid : undefined);
    this.cache.set(token, { identity, exp: (payload.exp ?? 0) * 1000, session: verifier.session });
    return identity;
  }

  /**
   * The key with the token's kid, if the issuer has one; otherwise the keys without a kid (a PEM
   * key has none), as a key with another kid is not the one the issuer signed with.
   */
  private issuerCandidates(verifier: Verifier, alg: string, kid: unknown): readonly VerificationKey[] {
    const forAlg = verifier.keys.filter((k) => k.algorithms.includes(alg));
    const named = forAlg.filter((k) => k.kid !== undefined && k.kid === kid);
    const candidates = named.length > 0 ? named : forAlg.filter((k) => k.kid === undefined || kid === undefined);
    if (candidates.length === 0) throw new IdentityError('bad-signature', typeof kid === 'string' ? `no ${alg} key of the issuer has kid ${JSON.stringify(kid).slice(0, 80)}` : `no ${alg} key of the issuer`);
    return candidates;
  }

  /**
   * The session key the token's kid names, reading the ring again once when it names none (a key
   * rotated in since the ring was read). A token without a kid (minted before keys had ids) is
   * tried against every key still in force.
   */
  private sessionCandidates(source: SessionKeySource, kid: unknown): readonly VerificationKey[] {
    const toKey = (k: SessionVerificationKey): VerificationKey => ({ key: k.publicKey, kid: k.kid, algorithms: ['EdDSA'] });
    if (kid === undefined) {
      const live = source.keys().filter((k) => !k.revoked);
      if (live.length === 0) throw new IdentityError('unknown-key', 'no session key is in force');
      return live.map(toKey);
    }
    if (typeof kid !== 'string') throw new IdentityError('malformed', 'kid is not a string');
    let named = source.keys().find((k) => k.kid === kid);
    if (!named && source.refresh?.()) named = source.keys().find((k) => k.kid === kid);
    if (!named) throw new IdentityError('unknown-key', `kid ${JSON.stringify(kid).slice(0, 80)}`);
    if (named.revoked) throw new IdentityError('revoked', 'its signing key was revoked');
    return [toKey(named)];
  }

  private keyRevoked(source: SessionKeySource, kid: string): boolean {
    return source.keys().some((k) => k.kid === kid && k.revoked === true);
  }

  /** The first key whose signature holds decides; claim checks come after the signature, so they are final. */
  private async verifyWithAny(token: string, keys: readonly VerificationKey[], v: Verifier, now: number): Promise<JWTPayload> {
    let failure: unknown;
    for (const { key } of keys) {
      try {
        const result = await jwtVerify(token, key, {
          issuer: v.issuer,
          audience: [...v.audience],
          algorithms: [...v.algorithms],
          currentDate: new Date(now),
          clockTolerance: v.clockToleranceS,
          requiredClaims: ['exp'],
        });
        return result.payload;
      } catch (err) {
        if (!(err instanceof joseErrors.JWSSignatureVerificationFailed)) throw mapJoseError(err);
        failure = err;
      }
    }
    throw mapJoseError(failure);
  }

  private toIdentity(p: JWTPayload & Record<string, unknown>, v: Verifier, kid: string | undefined): Identity {
    return tokenIdentity(this.policy, v, p, kid);
  }
}
