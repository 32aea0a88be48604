import type { Usage } from './decision';
import type { Policy, Price } from './policy/model';
import { globMatch } from './glob';
import { catalogue } from './price-catalogue';
import { roundUsd } from '../contracts/audit-records';

/** The `prices` entry that prices every model no other entry and no catalogue names. */
export const DEFAULT_PRICE = 'default';

/** A long-context tier: above `start` tokens of total input, the whole call is billed at `price`. */
export interface Tier {
  readonly start: number;
  readonly price: number;
}

/** USD per 1M tokens of one part of a call; a tiered rate changes with the call's total input. */
export interface Rate {
  readonly base: number;
  readonly tiers?: readonly Tier[];
}

/**
 * What a model costs per part of a call. A part without its own rate is billed as uncached
 * input (a 1-hour cache write as a 5-minute one): never cheaper than the provider's bill says.
 */
export interface ModelPrice {
  readonly input: Rate;
  readonly output: Rate;
  readonly cacheRead?: Rate;
  readonly cacheWrite?: Rate;
  readonly cacheWrite1h?: Rate;
}

/** Where prices come from besides the bundle: a lookup by model, with the provider's style as a hint. */
export interface PriceSource {
  priceOf(model: string, style?: string): ModelPrice | undefined;
}

/** A bundle entry as a price: one rate per part, no tiers. */
export function bundlePrice(p: Price): ModelPrice {
  const rate = (base: number | undefined): Rate | undefined => (base === undefined ? undefined : { base });
  return { input: { base: p.input }, output: { base: p.output }, cacheRead: rate(p.cache_read), cacheWrite: rate(p.cache_write), cacheWrite1h: rate(p.cache_write_1h) };
}

function bundleEntry(policy: Policy, model: string): Price | undefined {
  const exact = policy.prices.get(model);
  if (exact) return exact;
  let best: string | undefined;
  for (const name of policy.prices.keys()) {
    if (model.startsWith(`${name}-`) && /^\d{4}/.test(model.slice(name.length + 1)) && (!best || name.length > best.length)) best = name;
  }
  if (best) return policy.prices.get(best);
  for (const [name, price] of policy.prices) if (name.includes('*') && globMatch(name, model)) return price;
  return undefined;
}

/**
 * The price of a model: the bundle's own entry, else the entry of the model it is a dated snapshot
 * of (gpt-4o-2024-08-06 is priced as gpt-4o), else the first glob entry that matches, else the
 * catalogue's price, else the bundle's `default` entry. Undefined when the model is priced
 * nowhere: it is not free. `provider` (the bundle's provider name) tells the catalogue where to look.
 */
export function priceOf(policy: Policy, model: string, provider?: string, source: PriceSource = catalogue): ModelPrice | undefined {
  const entry = bundleEntry(policy, model);
  if (entry) return bundlePrice(entry);
  const listed = source.priceOf(model, provider === undefined ? undefined : policy.providers.get(provider)?.style);
  if (listed) return listed;
  const fallback = policy.prices.get(DEFAULT_PRICE);
  return fallback ? bundlePrice(fallback) : undefined;
}

/** The rate a call with this much input pays: the highest tier its total input is over. */
function rateAt(rate: Rate, totalInput: number): number {
  let price = rate.base;
  for (const t of rate.tiers ?? []) if (totalInput > t.start) price = t.price;
  return price;
}

/**
 * What a call costs in USD: uncached input, cache reads, 5-minute and 1-hour cache writes and
 * output (reasoning included), each at its rate, the tier chosen by the call's total input.
 * A usage that names no cache parts is priced as all uncached input: the worst case a
 * reservation holds before a call.
 */
export function usdFor(price: ModelPrice | undefined, usage: Usage): number {
  if (!price) return 0;
  const total = usage.input_tokens;
  const read = Math.min(total, usage.cache_read_input_tokens ?? 0);
  const written = Math.min(total - read, usage.cache_write_input_tokens ?? 0);
  const written1h = Math.min(written, usage.cache_write_1h_input_tokens ?? 0);
  const uncached = total - read - written;
  const input = rateAt(price.input, total);
  const cacheWrite = price.cacheWrite ? rateAt(price.cacheWrite, total) : input;
  const perMillion = uncached * input
    + read * (price.cacheRead ? rateAt(price.cacheRead, total) : input)
    + (written - written1h) * cacheWrite
    + written1h * (price.cacheWrite1h ? rateAt(price.cacheWrite1h, total) : cacheWrite)
    + usage.output_tokens * rateAt(price.output, total);
  return roundUsd(perMillion / 1_000_000);
}
