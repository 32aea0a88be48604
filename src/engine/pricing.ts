import type { Policy, Price } from './policy/model';
import { globMatch } from './glob';

/** The `prices` entry that prices every model no other entry names. */
export const DEFAULT_PRICE = 'default';

/**
 * The price of a model: its own entry, else the entry of the model it is a dated snapshot of
 * (gpt-4o-2024-08-06 is priced as gpt-4o), else the first glob entry that matches, else the
 * bundle's `default` entry. Undefined when the model is priced nowhere: it is not free.
 */
export function priceOf(policy: Policy, model: string): Price | undefined {
  const exact = policy.prices.get(model);
  if (exact) return exact;
  let best: string | undefined;
  for (const name of policy.prices.keys()) {
    if (model.startsWith(`${name}-`) && /^\d{4}/.test(model.slice(name.length + 1)) && (!best || name.length > best.length)) best = name;
  }
  if (best) return policy.prices.get(best);
  for (const [name, price] of policy.prices) if (name.includes('*') && globMatch(name, model)) return price;
  return policy.prices.get(DEFAULT_PRICE);
}

export function usdFor(price: Price | undefined, inputTokens: number, outputTokens: number): number {
  if (!price) return 0;
  return (inputTokens * price.input + outputTokens * price.output) / 1_000_000;
}
