import type { ModelCall } from '../../contracts/call';
import { accumulatorKey } from '../accumulator-key';
import { TOKEN_SCOPE_GUARD } from '../guards';
import type { Identity } from '../identity/identity';
import { describeScope, MAX_CAPPED_TOKEN_TTL_MS, scopeAllowsModel, scopeAllowsRoute, scopeAllowsTool } from '../identity/token-scope';
import type { AccumulatorSpec, OpResult } from '../limiters/spec';
import type { Policy } from '../policy/model';
import { priceOf } from '../pricing';
import type { ChargingRule, PlanFacts, PlannedCharge, RestoredAccumulator } from './charge';
import type { CheckRefusal } from './refusal';
import { usage } from './wording';

// A token's own scope (the tollgate_scope claim), checked on top of the bundle: models, routes and tools
// before anything is held, and the token's lifetime USD cap as an accumulator reserved with the
// bundle's limits and budgets and settled after the call, so it holds in team mode too. Refusals
// name the token's scope, never the bundle, and `x-tollgate-rule: token-scope`.

/** The cap's window: longer than any capped token lives, so it counts the token's whole life. */
const CAP_WINDOW_MS = MAX_CAPPED_TOKEN_TTL_MS + 3_600_000;

/** How a refusal names the token: its id, shortened. */
function tokenName(id: Identity): string {
  const tokenId = id.token?.id;
  return tokenId ? `token ${tokenId.slice(0, 8)}` : 'the token';
}

/** Models, routes and tools the token's scope allows; a passthrough (listing models) names none. */
export function checkTokenScope(policy: Policy, id: Identity, call: ModelCall): CheckRefusal | undefined {
  const scope = id.token?.scope;
  if (!scope || call.kind === 'passthrough') return undefined;
  const refuse = (notEntitled: 'model' | 'route' | 'tool', what: string): CheckRefusal => ({
    refusal: 'entitlement',
    rule: TOKEN_SCOPE_GUARD,
    details: { notEntitled },
    reason: `${tokenName(id)} of ${id.user} is scoped to ${describeScope(scope)}, which does not include ${what}`,
  });
  // A tool call (MCP) is scoped by the tool's name; a model call also by the tools it declares.
  if (call.kind === 'tool') return call.tool !== undefined && !scopeAllowsTool(scope, call.tool) ? refuse('tool', `tool '${call.tool}'`) : undefined;
  const outside = call.tools?.find((t) => !scopeAllowsTool(scope, t));
  if (outside !== undefined) return refuse('tool', `tool '${outside}' (the request declares it to the model)`);
  if (!scopeAllowsRoute(scope, call.route)) return refuse('route', `route ${call.route}`);
  if (call.model && !scopeAllowsModel(scope, call.model)) return refuse('model', `model '${call.model}'`);
  // A cap cannot count a model priced nowhere: such a call would spend without limit.
  if (scope.maxUsd !== undefined && (call.kind === 'generate' || call.kind === 'embed') && call.model && !priceOf(policy, call.model, call.provider)) {
    return refuse('model', `model '${call.model}', which has no price its max_usd could count`);
  }
  return undefined;
}

export class TokenCapGuard implements ChargingRule {
  readonly id = TOKEN_SCOPE_GUARD;
  readonly kind = 'guard' as const;
  readonly refusal = 'budget' as const;
  /** The token's spend only grows until it expires: no retry-after. */
  readonly waitHelps = false;

  horizonMs(): number {
    return CAP_WINDOW_MS;
  }

  private spec(limit: number): AccumulatorSpec {
    return { type: 'rolling', windowMs: CAP_WINDOW_MS, limit, alertAt: [] };
  }

  /** Charges the call's worst-case USD to the token's cap, when its scope sets one. */
  plan(f: PlanFacts, out: PlannedCharge[]): void {
    const token = f.identity.token;
    const cap = token?.scope?.maxUsd;
    if (cap === undefined || !token?.id) return;
    const key = `token:${token.id}`;
    out.push({ rule: this, key, storeKey: accumulatorKey(this.id, key), unit: 'usd', spec: this.spec(cap), amount: f.cost.usd, force: false });
  }

  /** The accumulator a recorded charge belongs to: the cap is the one the record states. */
  restored(limit: number | undefined): RestoredAccumulator | undefined {
    return limit === undefined ? undefined : { spec: this.spec(limit), unit: 'usd' };
  }

  explain(p: PlannedCharge, r: OpResult, id: Identity, _retryMs: number | null): string {
    return `${tokenName(id)} of ${id.user} is scoped to at most ${usage(r.before, r.limit, p.amount, 'usd').replace(' used;', ' spent over its lifetime;')}; waiting will not help: ask for a new token`;
  }
}
