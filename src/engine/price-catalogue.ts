import { calcPrice } from '@pydantic/genai-prices';
import { LRUCache } from 'lru-cache';
import type { ModelPrice as CatalogueModelPrice } from '@pydantic/genai-prices';
import type { ModelPrice, PriceSource, Rate } from './pricing';

// The maintained price catalogue shipped with the product (the @pydantic/genai-prices data). Only
// its bundled data is read: nothing here fetches newer prices, so a lookup is a pure function of
// the installed package and the same model is priced the same everywhere (proxy, views, replay).

/** The catalogue's provider for each style; a style not listed is looked up by the model alone. */
const catalogueProviders: Readonly<Record<string, string>> = {
  openai: 'openai',
  anthropic: 'anthropic',
  gemini: 'google',
  'azure-openai': 'azure',
};

function rateOf(v: CatalogueModelPrice[string]): Rate | undefined {
  if (typeof v === 'number') return { base: v };
  if (v && typeof v === 'object' && typeof v.base === 'number') return { base: v.base, tiers: v.tiers.map((t) => ({ start: t.start, price: t.price })) };
  return undefined;
}

function lookup(model: string, providerId: string | undefined): ModelPrice | undefined {
  let found;
  try {
    found = calcPrice({ input_tokens: 0 }, model, providerId ? { providerId } : undefined);
  } catch {
    return undefined;
  }
  if (!found) return undefined;
  const p = found.model_price;
  const input = rateOf(p.input_mtok);
  const output = rateOf(p.output_mtok) ?? (input ? { base: 0 } : undefined);
  if (!input || !output) return undefined;
  return { input, output, cacheRead: rateOf(p.cache_read_mtok), cacheWrite: rateOf(p.cache_write_mtok), cacheWrite1h: rateOf(p.cache_write_1h_mtok) };
}

const MEMO_LIMIT = 4096;

class CataloguePrices implements PriceSource {
  // Model names come from clients: the memo is bounded, and the name looked up longest ago goes.
  private readonly memo = new LRUCache<string, { readonly price: ModelPrice | undefined }>({ max: MEMO_LIMIT });

  priceOf(model: string, style?: string): ModelPrice | undefined {
    const key = `${style ?? ''}\u0000${model}`;
    const known = this.memo.get(key);
    if (known) return known.price;
    const providerId = style === undefined ? undefined : catalogueProviders[style];
    const price = (providerId ? lookup(model, providerId) : undefined) ?? lookup(model, undefined);
    this.memo.set(key, { price });
    return price;
  }
}

/** The catalogue as a price source. */
export const catalogue: PriceSource = new CataloguePrices();
