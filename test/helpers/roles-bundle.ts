// A bundle in which who a person is comes from everywhere the proxy reads it: roles per person in
// the bundle (identity.roles), an identity provider whose tokens carry roles, tenant and agent in
// claims of its own naming, and exceptions (per person, per agent, per role, one expired).

import { generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';

export const IDP_ISSUER = 'https://idp.acme.dev';
export const IDP_AUDIENCE = 'tollgate';

export interface RolesBundle {
  readonly text: string;
  /** A token of the bundle's identity provider with these claims, valid an hour from `now`. */
  idpToken(claims: Record<string, unknown>, now: number): Promise<string>;
}

export function rolesBundle(upstream = 'https://api.openai.com'): RolesBundle {
  const idp = generateKeyPairSync('ed25519');
  const pem = (idp.publicKey.export({ type: 'spki', format: 'pem' }) as string).trim().split('\n').map((l) => `        ${l}`).join('\n');
  const text = `version: 1
name: roles-agree
providers:
  openai: { upstream: ${upstream}, style: openai, key_env: OPENAI_API_KEY }
identity:
  required: true
  roles:
    bob@acme.dev: [ml-engineers]
    alice@acme.dev: [marketing-analysts]
  declared_roles: [data-science, interns]
  issuers:
    - issuer: ${IDP_ISSUER}
      audience: ${IDP_AUDIENCE}
      algorithms: [EdDSA]
      user_claim: upn
      roles_claim: groups
      tenant_claim: org
      agent_claim: workload
      public_key: |
${pem}
prices:
  gpt-4o-mini: { input: 0.15, output: 0.60 }
  gpt-4o: { input: 2.50, output: 10.00 }
  o3-mini: { input: 1.10, output: 4.40 }
  gpt-4.1: { input: 2.00, output: 8.00 }
limits:
  - id: agent-burst
    per: agent
    algorithm: token-bucket
    rate: 1/h
    burst: 3
    cost: requests
  - id: beta-tenant
    per: tenant
    match: { tenant: beta }
    algorithm: sliding-window
    window: 1h
    limit: 2
    cost: requests
entitlements:
  default:
    models: [gpt-4o-mini]
  roles:
    ml-engineers:
      models: ["*"]
    data-science:
      models: [gpt-4o, gpt-4o-mini]
    marketing-analysts:
      models: [gpt-4o-mini]
  users:
    erin@acme.dev:
      models: [o3-mini]
exceptions:
  - identity: { user: bob@acme.dev }
    limit: agent-burst
    burst: 5
    expires: 2027-06-30
    reason: model comparison for the platform team
  - identity: { agent: batch-eval }
    limit: agent-burst
    burst: 7
    expires: 2027-06-30
    reason: Q4 evaluation run
  - identity: { role: data-science }
    limit: agent-burst
    burst: 4
    expires: 2027-06-30
    reason: notebook work
  - identity: { user: alice@acme.dev }
    limit: agent-burst
    burst: 9
    expires: 2026-01-01
    reason: a campaign that is over
`;
  const key: KeyObject = idp.privateKey;
  return {
    text,
    idpToken: (claims, now) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'EdDSA' })
        .setIssuer(IDP_ISSUER)
        .setAudience(IDP_AUDIENCE)
        .setIssuedAt(Math.floor(now / 1000))
        .setExpirationTime(Math.floor(now / 1000) + 3600)
        .sign(key),
  };
}
