import type { SessionVerificationKey } from './tokens';

// The session keys as a JSON Web Key Set (RFC 7517), so another gateway can verify the proxy's
// tokens. Public parameters only, and only keys whose tokens are still honoured: a revoked key is
// left out, so a verifier reading the set refuses what it signed too.

export const JWKS_PATH = '/_tollgate/jwks.json';

export interface PublicJwk {
  readonly kty: string;
  readonly crv?: string;
  readonly x?: string;
  readonly kid: string;
  readonly alg: 'EdDSA';
  readonly use: 'sig';
}

export function jwksOf(keys: readonly SessionVerificationKey[]): { keys: PublicJwk[] } {
  return {
    keys: keys
      .filter((k) => !k.revoked)
      .map((k) => {
        // A public KeyObject exports only public parameters; they are copied by name all the same,
        // so nothing a future export adds (a private `d`) can reach the set.
        const jwk = k.publicKey.export({ format: 'jwk' });
        return { kty: String(jwk.kty), crv: jwk.crv, x: jwk.x, kid: k.kid, alg: 'EdDSA' as const, use: 'sig' as const };
      }),
  };
}
