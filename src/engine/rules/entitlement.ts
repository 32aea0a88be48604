import { LRUCache } from 'lru-cache';
import type { ModelCall } from '../../contracts/call';
import type { EntitlementSubject } from '../../contracts/refusal';
import { entitlementFor } from '../entitlements';
import type { EffectiveEntitlement } from '../entitlements';
import type { Identity } from '../identity/identity';
import type { Policy } from '../policy/model';
import type { CheckRefusal } from './refusal';

// Entitlements: which routes, providers and models a person may use, and how much output a call
// may ask for. A refusal here is final, so it is checked before anything is held.

/** How much output a call holds, and the cap to write into it when the entitlement clamps it. */
export interface OutputPlan {
  /** Output tokens held for the whole call (every choice). */
  readonly tokens: number;
  /** The output maximum to write into the request, when the client's is missing or too large. */
  readonly cap?: number;
}

export class EntitlementRule {
  /** Entitlements depend only on the person and their roles, which repeat across requests. */
  private readonly byPerson = new LRUCache<string, EffectiveEntitlement>({ max: 10_000 });
  private readonly byIdentity = new WeakMap<Identity, EffectiveEntitlement>();

  constructor(private readonly policy: Policy) {}

  of(id: Identity): EffectiveEntitlement {
    let e = this.byIdentity.get(id);
    if (e) return e;
    const key = `${id.user}\n${id.roles.join('\n')}`;
    e = this.byPerson.get(key);
    if (!e) {
      e = entitlementFor(this.policy, id);
      this.byPerson.set(key, e);
    }
    this.byIdentity.set(id, e);
    return e;
  }

  /**
   * The route, provider and model the call names. A passthrough (listing the models, probing the
   * base URL) touches no model, so it needs no entitlement.
   */
  check(id: Identity, call: ModelCall): CheckRefusal | undefined {
    if (call.kind === 'passthrough') return undefined;
    const ent = this.of(id);
    const refuse = (notEntitled: EntitlementSubject, reason: string): CheckRefusal => ({ refusal: 'entitlement', rule: 'entitlements', reason, details: { notEntitled } });
    if (!ent.routeAllowed(call.route)) return refuse('route', `${id.user} is not entitled to route ${call.route}`);
    if (!ent.providerAllowed(call.provider)) return refuse('provider', `${id.user} is not entitled to provider '${call.provider}'`);
    if (call.model && !ent.modelAllowed(call.model)) return refuse('model', `${id.user} is not entitled to model '${call.model}'`);
    return undefined;
  }

  /** The client's output maximum clamped by the entitlement; without one, the policy's reserve. */
  output(id: Identity, call: ModelCall): OutputPlan {
    if (call.kind !== 'generate') return { tokens: 0 };
    const max = this.of(id).maxOutputTokens;
    let perChoice = call.requestedOutputTokens ?? this.policy.guards.reserveOutputTokens;
    let cap: number | undefined;
    if (max !== undefined) {
      if (call.requestedOutputTokens === undefined || call.requestedOutputTokens > max) cap = max;
      perChoice = Math.min(perChoice, max);
    }
    return { tokens: perChoice * call.choices, cap };
  }
}
