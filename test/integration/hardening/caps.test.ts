import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { MockUpstream } from '../../helpers/mock-upstream';
import { referenceText } from '../../helpers/policy';
import { startTestProxy } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';
import type { DecisionRecord } from '../../../src/contracts/audit-records';

describe('caps and limits hold however a request is written', () => {
  let mock: MockUpstream;
  let p: TestProxy;
  before(async () => {
    mock = new MockUpstream();
    p = await startTestProxy(await mock.start());
  });
  after(async () => {
    await p.stop();
    await mock.stop();
  });

  async function decisionOf(id: string | null | undefined): Promise<DecisionRecord> {
    const rec = (await p.records()).find((r) => r.id === id);
    assert.ok(rec?.kind === 'decision', `a decision record ${id}`);
    return rec as DecisionRecord;
  }

  it('clamps and holds every output field a request carries, times n', async () => {
    const client = new OpenAI({ apiKey: await p.token('bob@acme.dev'), baseURL: `${p.url}/openai/v1`, maxRetries: 0 });
    const { response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], max_completion_tokens: 1, max_tokens: 100_000, n: 3 })
      .withResponse();
    const sent = mock.last().body!;
    assert.equal(sent.max_tokens, 8192, 'the larger field is clamped to the entitlement');
    assert.equal(sent.max_completion_tokens, 1);
    const rec = await decisionOf(response.headers.get('x-tollgate-decision'));
    assert.equal(rec.reserved.output_tokens, 3 * 8192, 'what is held covers what the upstream may generate');
  });

  // A model neither the price catalogue nor the bundle names.
  it('refuses a model priced nowhere wherever a USD budget counts it, naming the missing price', async () => {
    const client = new OpenAI({ apiKey: await p.token('bob@acme.dev'), baseURL: `${p.url}/openai/v1`, maxRetries: 0 });
    const seen = mock.seen.length;
    const err = await client.chat.completions.create({ model: 'acme-internal-7', messages: [{ role: 'user', content: 'x' }], max_tokens: 5 }).catch((e: unknown) => e);
    assert.ok(err instanceof OpenAI.PermissionDeniedError, String(err));
    assert.match(err.message, /model 'acme-internal-7' has no price/);
    assert.equal(err.headers?.get('x-tollgate-rule'), 'prices');
    assert.equal(mock.seen.length, seen, 'it never reached the provider at $0');
  });

  it('prices an unlisted model with prices.default when the bundle sets one', async () => {
    const withDefault = await startTestProxy(mock.url, { policyText: referenceText.replace('prices:\n', 'prices:\n  default: { input: 20, output: 80 }\n') });
    try {
      const client = new OpenAI({ apiKey: await withDefault.token('bob@acme.dev'), baseURL: `${withDefault.url}/openai/v1`, maxRetries: 0 });
      const { response } = await client.chat.completions.create({ model: 'acme-internal-7', messages: [{ role: 'user', content: 'x' }], max_tokens: 100 }).withResponse();
      const rec = (await withDefault.records()).find((r) => r.id === response.headers.get('x-tollgate-decision')) as DecisionRecord;
      assert.ok(rec.reserved.usd > 100 * 80 / 1e6 - 1e-12, 'held at the default price');
    } finally {
      await withDefault.stop();
    }
  });

  it('refuses agent names past identity.max_agents_per_user, so rotating x-tollgate-agent cannot multiply the per-agent burst', async () => {
    const client = new OpenAI({ apiKey: await p.token('dave@acme.dev'), baseURL: `${p.url}/openai/v1`, maxRetries: 0 });
    const statuses: number[] = [];
    let refusal: unknown;
    for (let i = 0; i < 40; i++) {
      try {
        await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], max_tokens: 1 }, { headers: { 'x-tollgate-agent': `worker-${i}` } });
        statuses.push(200);
      } catch (err) {
        statuses.push((err as { status: number }).status);
        refusal ??= err;
      }
    }
    assert.deepEqual(statuses, [...Array(16).fill(200), ...Array(24).fill(429)]);
    assert.ok(refusal instanceof OpenAI.RateLimitError);
    assert.equal(refusal.headers?.get('x-tollgate-rule'), 'max_agents_per_user');
    assert.match(refusal.message, /16 agent names/);
    assert.ok(Number(refusal.headers?.get('retry-after')) > 3000, 'it frees up when the first name leaves the hour');
  });
});
