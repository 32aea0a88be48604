import assert from 'node:assert/strict';
import type { Usage } from '../../../src/engine/decision';
import { catalogue } from '../../../src/engine/price-catalogue';
import { priceOf, usdFor } from '../../../src/engine/pricing';
import type { ModelPrice, PriceSource } from '../../../src/engine/pricing';
import type { Policy } from '../../../src/engine/policy/model';
import { referencePolicy } from '../../helpers/policy';

// Expectations are computed by hand from the catalogue's published prices (USD per 1M tokens):
// claude-haiku-4-5 input 1, cache read 0.10, 5-minute write 1.25, 1-hour write 2, output 5;
// claude-sonnet-4-5 input 3 / output 15 up to 200k input, 6 / 22.5 over (cache read 0.30 / 0.60);
// gpt-4o input 2.50, cache read 1.25, output 10.

const close = (actual: number, expected: number): void => assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} is ${expected}`);

function withPrices(entries: Record<string, Policy['prices'] extends ReadonlyMap<string, infer P> ? P : never>): Policy {
  return { ...referencePolicy(), prices: new Map(Object.entries(entries)) };
}

describe('pricing', () => {
  describe('the catalogue, by the bill', () => {
    const cases: { name: string; model: string; provider?: string; usage: Usage; usd: number }[] = [
      {
        name: 'haiku: uncached, cache reads, 5-minute writes and output each at their price',
        model: 'claude-haiku-4-5', provider: 'anthropic',
        usage: { input_tokens: 21_050, cache_read_input_tokens: 20_000, cache_write_input_tokens: 1_000, output_tokens: 50 },
        usd: (50 * 1 + 20_000 * 0.1 + 1_000 * 1.25 + 50 * 5) / 1e6, // $0.00355
      },
      {
        name: 'haiku: 1-hour writes at twice input',
        model: 'claude-haiku-4-5', provider: 'anthropic',
        usage: { input_tokens: 1_600, cache_write_input_tokens: 1_500, cache_write_1h_input_tokens: 1_000, output_tokens: 10 },
        usd: (100 * 1 + 500 * 1.25 + 1_000 * 2 + 10 * 5) / 1e6,
      },
      {
        name: 'the worst case (no cache named) is every input token uncached',
        model: 'claude-haiku-4-5', provider: 'anthropic', usage: { input_tokens: 21_050, output_tokens: 50 }, usd: (21_050 * 1 + 50 * 5) / 1e6,
      },
      { name: 'sonnet at 200k input stays on the base tier', model: 'claude-sonnet-4-5', provider: 'anthropic', usage: { input_tokens: 200_000, output_tokens: 0 }, usd: 0.6 },
      {
        name: 'sonnet over 200k input: the whole call at the long-context tier, cache reads included',
        model: 'claude-sonnet-4-5', provider: 'anthropic', usage: { input_tokens: 250_000, cache_read_input_tokens: 200_000, output_tokens: 10 },
        usd: (50_000 * 6 + 200_000 * 0.6 + 10 * 22.5) / 1e6,
      },
      { name: 'a dated snapshot takes its model\'s price', model: 'gpt-4o-2024-08-06', provider: 'openai', usage: { input_tokens: 2_000, cache_read_input_tokens: 1_536, output_tokens: 300 }, usd: (464 * 2.5 + 1_536 * 1.25 + 300 * 10) / 1e6 },
    ];
    for (const c of cases) {
      it(c.name, () => close(usdFor(priceOf(withPrices({}), c.model, c.provider), c.usage), c.usd));
    }
  });

  it('gives USD to the nano-dollar, without float noise', () => {
    const usd = usdFor(priceOf(withPrices({ 'gpt-4o-mini': { input: 0.15, output: 0.6, cache_read: 0.075 } }), 'gpt-4o-mini', 'openai'), { input_tokens: 2_000, cache_read_input_tokens: 1_536, output_tokens: 7 });
    assert.equal(usd, 0.000189);
    assert.notEqual((464 * 0.15 + 1_536 * 0.075 + 7 * 0.6) / 1e6, 0.000189, 'the plain sum is noisy');
  });

  describe('the bundle over the catalogue', () => {
    it("an entry overrides the catalogue's price, its own cache_read included", () => {
      const policy = withPrices({ 'gpt-4o-mini': { input: 0.15, output: 0.6, cache_read: 0.05 } });
      close(usdFor(priceOf(policy, 'gpt-4o-mini', 'openai'), { input_tokens: 1_000_000, cache_read_input_tokens: 1_000_000, output_tokens: 0 }), 0.05);
    });
    it('an entry without cache prices bills cache reads and writes as input, 1-hour writes as writes', () => {
      const policy = withPrices({ 'acme-finetune-1': { input: 3, output: 12 }, 'acme-2': { input: 1, output: 1, cache_write: 2 } });
      close(usdFor(priceOf(policy, 'acme-finetune-1'), { input_tokens: 1_000, cache_read_input_tokens: 600, cache_write_input_tokens: 400, output_tokens: 100 }), (1_000 * 3 + 100 * 12) / 1e6);
      close(usdFor(priceOf(policy, 'acme-2'), { input_tokens: 1_000, cache_write_input_tokens: 1_000, cache_write_1h_input_tokens: 500, output_tokens: 0 }), 2_000 / 1e6);
    });
    it('adds a model no catalogue knows', () => {
      assert.equal(priceOf(withPrices({}), 'acme-finetune-1'), undefined);
      assert.deepEqual(priceOf(withPrices({ 'acme-finetune-1': { input: 3, output: 12 } }), 'acme-finetune-1')?.input, { base: 3 });
    });
    it('`default` prices only what neither the bundle nor the catalogue names', () => {
      const policy = withPrices({ default: { input: 100, output: 100 } });
      assert.equal(priceOf(policy, 'mystery-model')?.input.base, 100);
      assert.equal(priceOf(policy, 'claude-haiku-4-5', 'anthropic')?.input.base, 1);
    });
    it('a model priced nowhere has no price (it is not free)', () => {
      assert.equal(priceOf(withPrices({}), 'mystery-model', 'openai'), undefined);
    });
    it('asks the price source it is given, with the provider\'s style', () => {
      const seen: (string | undefined)[] = [];
      const fixed: ModelPrice = { input: { base: 7 }, output: { base: 7 } };
      const source: PriceSource = { priceOf: (_m, style) => (seen.push(style), fixed) };
      assert.equal(priceOf(withPrices({}), 'anything', 'anthropic', source), fixed);
      assert.deepEqual(seen, ['anthropic']);
    });
  });

  describe('the catalogue as a price source', () => {
    it('finds an embedding model with the provider hint', () => {
      assert.equal(catalogue.priceOf('text-embedding-3-small', 'openai')?.input.base, 0.02);
    });
    it('keeps the long-context tiers', () => {
      assert.deepEqual(catalogue.priceOf('claude-sonnet-4-5', 'anthropic')?.input, { base: 3, tiers: [{ start: 200_000, price: 6 }] });
    });
  });
});
