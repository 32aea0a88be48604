import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { MockUpstream } from '../../helpers/mock-upstream';
import { referenceText } from '../../helpers/policy';
import { startTestProxy } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';

describe('proxy refusals, as the SDKs see them', () => {
  let mock: MockUpstream;
  let upstream: string;
  before(async () => {
    mock = new MockUpstream();
    upstream = await mock.start();
  });
  after(() => mock.stop());

  // Decisions are made at one instant, so no bucket refills however slowly a shared machine runs.
  async function withProxy(policyText: string | undefined, run: (p: TestProxy) => Promise<void>): Promise<void> {
    const at = Date.now();
    const p = await startTestProxy(upstream, { policyText, clock: () => at });
    try {
      await run(p);
    } finally {
      await p.stop();
    }
  }

  it('raises RateLimitError on the 21st request of a burst, with an integer retry-after and the rule', () =>
    withProxy(undefined, async (p) => {
      const client = new OpenAI({ apiKey: await p.token('bob@acme.dev'), baseURL: `${p.url}/openai/v1`, maxRetries: 0 });
      for (let i = 0; i < 20; i++) await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], max_tokens: 5 });
      const seenBefore = mock.seen.length;
      const err = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], max_tokens: 5 }).catch((e: unknown) => e);
      assert.ok(err instanceof OpenAI.RateLimitError, String(err));
      assert.equal(err.status, 429);
      assert.equal((err.error as { type: string }).type, 'rate_limit_exceeded');
      assert.match(err.message, /agent-burst.*bob@acme\.dev.*frees up in 1s/);
      assert.equal(err.headers?.get('retry-after'), '1');
      assert.equal(err.headers?.get('x-tollgate-rule'), 'agent-burst');
      assert.match(err.headers?.get('x-tollgate-decision') ?? '', /^[0-9A-Z]{26}$/);
      assert.equal(mock.seen.length, seenBefore, 'a refused request never reaches the provider');
      const rec = (await p.records()).find((r) => r.id === err.headers?.get('x-tollgate-decision'));
      assert.ok(rec?.kind === 'decision');
      if (rec?.kind === 'decision') {
        assert.equal(rec.outcome, 'refuse');
        assert.equal(rec.status, 429);
        assert.equal(rec.rule, 'agent-burst');
        assert.equal(rec.identity.user, 'bob@acme.dev');
      }
    }));

  it('raises Anthropic RateLimitError (rate_limit_error) the same way', () =>
    withProxy(undefined, async (p) => {
      const client = new Anthropic({ apiKey: await p.token('carol@acme.dev'), baseURL: `${p.url}/anthropic`, maxRetries: 0 });
      for (let i = 0; i < 20; i++) await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
      const err = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
      assert.ok(err instanceof Anthropic.RateLimitError, String(err));
      assert.equal((err.error as { error: { type: string } }).error.type, 'rate_limit_error');
      assert.equal(err.headers?.get('retry-after'), '1');
    }));

  it('raises insufficient_quota when a refusing budget is spent', () =>
    withProxy(referenceText.replace('limit_usd: 500', 'limit_usd: 0.001'), async (p) => {
      const client = new OpenAI({ apiKey: await p.token('bob@acme.dev'), baseURL: `${p.url}/openai/v1`, maxRetries: 0 });
      const err = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], max_tokens: 1000 }).catch((e: unknown) => e);
      assert.ok(err instanceof OpenAI.RateLimitError);
      assert.equal((err.error as { type: string }).type, 'insufficient_quota');
      assert.equal(err.headers?.get('x-tollgate-rule'), 'team-monthly');
      assert.equal(err.headers?.get('retry-after'), null, 'this request alone exceeds the budget: waiting cannot help');
    }));

  it('raises PermissionDeniedError (403) for a model outside the entitlement', () =>
    withProxy(undefined, async (p) => {
      const client = new OpenAI({ apiKey: await p.token('alice@acme.dev'), baseURL: `${p.url}/openai/v1`, maxRetries: 0 });
      const model = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
      assert.ok(model instanceof OpenAI.PermissionDeniedError);
      assert.equal(model.headers?.get('retry-after'), null);
      assert.match(model.message, /alice@acme\.dev is not entitled to model 'gpt-4o'/);
    }));

  it("raises BadRequestError with OpenAI's context_length_exceeded for a prompt over the context cap (chat and responses)", () =>
    withProxy(undefined, async (p) => {
      const client = new OpenAI({ apiKey: await p.token('alice@acme.dev'), baseURL: `${p.url}/openai/v1`, maxRetries: 0 });
      const long = 'word '.repeat(101_000);
      const chat = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: long }] }).catch((e: unknown) => e);
      const responses = await client.responses.create({ model: 'gpt-4o-mini', input: long }).catch((e: unknown) => e);
      for (const err of [chat, responses]) {
        assert.ok(err instanceof OpenAI.BadRequestError, String(err));
        assert.equal(err.status, 400);
        assert.equal(err.code, 'context_length_exceeded');
        assert.equal(err.param, 'messages');
        assert.match(err.message, /This model's maximum context length is \d+ tokens\. However, your messages resulted in \d+ tokens\./);
        assert.match(err.message, /team's cap, not the model's/);
        assert.equal(err.headers?.get('x-tollgate-rule'), 'entitlements.max_input_tokens');
        assert.equal(err.headers?.get('retry-after'), null);
      }
    }));

  it("raises Anthropic BadRequestError with 'prompt is too long' for a prompt over the context cap", () =>
    withProxy(undefined, async (p) => {
      const client = new Anthropic({ apiKey: await p.token('alice@acme.dev'), baseURL: `${p.url}/anthropic`, maxRetries: 0 });
      const err = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'word '.repeat(101_000) }] }).catch((e: unknown) => e);
      assert.ok(err instanceof Anthropic.BadRequestError, String(err));
      assert.equal((err.error as { error: { type: string } }).error.type, 'invalid_request_error');
      assert.match(err.message, /prompt is too long: \d+ tokens > \d+ maximum/);
      assert.match(err.message, /team's cap, not the model's/);
      assert.equal(err.headers?.get('x-tollgate-rule'), 'entitlements.max_input_tokens');
    }));

  it('raises AuthenticationError (401) for a missing, forged or expired token', () =>
    withProxy(undefined, async (p) => {
      for (const apiKey of ['not-a-token', `${(await p.token('bob@acme.dev')).slice(0, -4)}AAAA`]) {
        const client = new OpenAI({ apiKey, baseURL: `${p.url}/openai/v1`, maxRetries: 0 });
        const err = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
        assert.ok(err instanceof OpenAI.AuthenticationError, String(err));
        assert.ok(err.headers?.get('x-tollgate-decision'));
      }
      const anthropic = new Anthropic({ apiKey: 'nope', baseURL: `${p.url}/anthropic`, maxRetries: 0 });
      const err = await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
      assert.ok(err instanceof Anthropic.AuthenticationError);
    }));

  it('clamps the output field to max_output_tokens and writes it when absent', () =>
    withProxy(undefined, async (p) => {
      const client = new OpenAI({ apiKey: await p.token('carol@acme.dev'), baseURL: `${p.url}/openai/v1`, maxRetries: 0 });
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], max_tokens: 100_000 });
      assert.equal(mock.last().body!.max_tokens, 8192);
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] });
      assert.equal(mock.last().body!.max_completion_tokens, 8192);
      const anthropic = new Anthropic({ apiKey: await p.token('carol@acme.dev'), baseURL: `${p.url}/anthropic`, maxRetries: 0 });
      await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 9000, messages: [{ role: 'user', content: 'x' }] });
      assert.equal(mock.last().body!.max_tokens, 8192);
    }));

  it('downgrades the model once the daily budget is spent, says so in headers and records both models', () =>
    withProxy(referenceText.replace('limit_usd: 5\n', 'limit_usd: 0.002\n'), async (p) => {
      const client = new OpenAI({ apiKey: await p.token('bob@acme.dev'), baseURL: `${p.url}/openai/v1`, maxRetries: 0 });
      const first = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], max_tokens: 100 }).withResponse();
      assert.equal(first.response.headers.get('x-tollgate-model-served'), null);
      const { response } = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], max_tokens: 300 }).withResponse();
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('x-tollgate-model-served'), 'gpt-4o-mini');
      assert.equal(response.headers.get('x-tollgate-downgraded-from'), 'gpt-4o');
      assert.equal(mock.last().body!.model, 'gpt-4o-mini');
      const rec = (await p.records()).find((r) => r.id === response.headers.get('x-tollgate-decision'));
      assert.ok(rec?.kind === 'decision');
      if (rec?.kind === 'decision') {
        assert.equal(rec.outcome, 'downgrade');
        assert.equal(rec.model, 'gpt-4o');
        assert.equal(rec.model_served, 'gpt-4o-mini');
        assert.equal(rec.rule, 'user-daily');
      }
    }));

  it('records shadow refusals but refuses nothing in --shadow mode', async () => {
    const at = Date.now();
    const p = await startTestProxy(upstream, { shadow: true, clock: () => at });
    try {
      const client = new OpenAI({ apiKey: await p.token('alice@acme.dev'), baseURL: `${p.url}/openai/v1`, maxRetries: 0 });
      const { response } = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).withResponse();
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('x-tollgate-shadow-refusal'), 'entitlements');
      const rec = (await p.records()).find((r) => r.id === response.headers.get('x-tollgate-decision'));
      assert.ok(rec?.kind === 'decision' && rec.outcome === 'refuse' && rec.shadow === true);
      for (let i = 0; i < 25; i++) await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], max_tokens: 1 });
      const shadowRefusals = (await p.records()).filter((r) => r.kind === 'decision' && r.shadow && r.outcome === 'refuse' && r.rule === 'agent-burst');
      assert.ok(shadowRefusals.length >= 5, 'the burst limit would have refused, and says so');
    } finally {
      await p.stop();
    }
  });
});
