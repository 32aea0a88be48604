import { anyGlobMatch } from './glob';
import type { Identity } from './identity/identity';
import type { Entitlement, Policy } from './policy/model';

/**
 * What one person may use: the default entitlement widened by each of their roles' and their
 * own. A field no source sets is unrestricted; otherwise the most permissive source wins.
 */
export interface EffectiveEntitlement {
  modelAllowed(model: string): boolean;
  routeAllowed(route: string): boolean;
  providerAllowed(provider: string): boolean;
  readonly maxInputTokens?: number;
  readonly maxOutputTokens?: number;
}

function sources(policy: Policy, identity: Identity): Entitlement[] {
  const out: Entitlement[] = [];
  if (policy.entitlements.default) out.push(policy.entitlements.default);
  for (const role of identity.roles) {
    const e = policy.entitlements.roles.get(role);
    if (e) out.push(e);
  }
  const own = policy.entitlements.users.get(identity.user);
  if (own) out.push(own);
  return out;
}

function allowedBy(all: Entitlement[], pick: (e: Entitlement) => readonly string[] | undefined, value: string): boolean {
  const lists = all.map(pick).filter((l): l is readonly string[] => l !== undefined);
  return lists.length === 0 || lists.some((l) => anyGlobMatch(l, value));
}

function loosest(all: Entitlement[], pick: (e: Entitlement) => number | undefined): number | undefined {
  // A cap applies once any source sets one; a role that sets a larger cap widens it.
  const set = all.map(pick).filter((v): v is number => v !== undefined);
  return set.length > 0 ? Math.max(...set) : undefined;
}

export function entitlementFor(policy: Policy, identity: Identity): EffectiveEntitlement {
  const all = sources(policy, identity);
  return {
    modelAllowed: (m) => allowedBy(all, (e) => e.models, m),
    routeAllowed: (r) => allowedBy(all, (e) => e.routes, r),
    providerAllowed: (p) => allowedBy(all, (e) => e.providers, p),
    maxInputTokens: loosest(all, (e) => e.max_input_tokens),
    maxOutputTokens: loosest(all, (e) => e.max_output_tokens),
  };
}
