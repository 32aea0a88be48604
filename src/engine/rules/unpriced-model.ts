import type { ModelCall } from '../../contracts/call';
import type { Identity } from '../identity/identity';
import type { Policy } from '../policy/model';
import { priceOf } from '../pricing';
import type { DeclaredRule } from './declared-rule';
import type { CheckRefusal } from './refusal';
import type { Rule } from '../policy/model';

// A model priced nowhere is not free: a call a USD budget or limit would count is refused rather
// than let through at $0.

export function checkUnpricedModel(policy: Policy, rules: readonly DeclaredRule<Rule>[], id: Identity, call: ModelCall, labels: readonly string[]): CheckRefusal | undefined {
  if ((call.kind !== 'generate' && call.kind !== 'embed') || !call.model || priceOf(policy, call.model, call.provider)) return undefined;
  const counting = rules.find((r) => r.unit === 'usd' && r.counts(id, call, call.model, labels));
  if (!counting) return undefined;
  return {
    refusal: 'entitlement',
    rule: 'prices',
    details: { notEntitled: 'model' },
    reason: `model '${call.model}' has no price (neither the price catalogue nor the bundle's prices name it, and there is no prices.default), so ${counting.kind === 'budget' ? 'budget' : 'limit'} '${counting.id}' cannot count what it costs`,
  };
}
