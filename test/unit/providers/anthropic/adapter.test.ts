import assert from 'node:assert/strict';
import type { ModelCall } from '../../../../src/contracts/call';
import type { ErrorKind } from '../../../../src/contracts/refusal';
import { anthropicAdapter as adapter } from '../../../../src/providers/anthropic/adapter';
import { clientKeyOf } from '../../../../src/providers/client-key';
import type { RewriteCase } from '../../../helpers/rewrite-cases';
import { itRewrites } from '../../../helpers/rewrite-cases';

function call(route: string, body: Record<string, unknown>): ModelCall {
  return adapter.describe('anthropic', route, 'POST', body);
}

const messages = { model: 'claude-sonnet-4-5', max_tokens: 4000, messages: [{ role: 'user', content: 'hi' }] };

describe('anthropic adapter', () => {
  describe('rewrite', () => {
    const cases: RewriteCase[] = [
      { name: 'serves a downgraded model', route: '/v1/messages', body: messages, changes: { model: 'claude-haiku-4-5' }, expect: { ...messages, model: 'claude-haiku-4-5' } },
      { name: 'clamps max_tokens to the cap', route: '/v1/messages', body: messages, changes: { outputCap: 100 }, expect: { ...messages, max_tokens: 100 } },
      { name: 'leaves a max_tokens under the cap', route: '/v1/messages', body: messages, changes: { outputCap: 10_000 }, expect: messages },
      { name: 'puts the pseudonym in metadata.user_id, beside what metadata held', route: '/v1/messages', body: { ...messages, metadata: { other: 1 } }, changes: { pseudonym: 'u-1' }, expect: { ...messages, metadata: { other: 1, user_id: 'u-1' } } },
      { name: 'gives count_tokens no pseudonym: it generates nothing', route: '/v1/messages/count_tokens', body: { model: 'claude-sonnet-4-5', messages: messages.messages }, changes: { pseudonym: 'u-1' }, expect: { model: 'claude-sonnet-4-5', messages: messages.messages } },
      { name: 'asks a stream for nothing: its events report usage anyway', route: '/v1/messages', body: { ...messages, stream: true }, changes: {}, expect: { ...messages, stream: true } },
    ];
    itRewrites(adapter, call, cases);
  });

  describe('stream tap', () => {
    const start = (usage: object): string => JSON.stringify({ type: 'message_start', message: { usage } });
    const delta = (text: string): string => JSON.stringify({ type: 'content_block_delta', delta: { type: 'text_delta', text } });
    const end = (usage: object): string => JSON.stringify({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage });
    const cases: { name: string; events: string[]; reading: { input?: number; output?: number; cacheRead?: number; cacheWrite?: number; cacheWrite1h?: number; outputText: string } }[] = [
      { name: "takes input from message_start and output from message_delta", events: [start({ input_tokens: 11, output_tokens: 1 }), delta('Hel'), delta('lo'), end({ output_tokens: 3 })], reading: { input: 11, output: 3, outputText: 'Hello' } },
      { name: 'counts cached and cache-creating input as input, and names each part', events: [start({ input_tokens: 2, cache_creation_input_tokens: 5, cache_read_input_tokens: 4, output_tokens: 1 }), end({ output_tokens: 1 })], reading: { input: 11, output: 1, cacheRead: 4, cacheWrite: 5, outputText: '' } },
      {
        name: 'splits cache writes into 5-minute and 1-hour ones',
        events: [start({ input_tokens: 50, cache_read_input_tokens: 20_000, cache_creation_input_tokens: 1_500, cache_creation: { ephemeral_5m_input_tokens: 1_000, ephemeral_1h_input_tokens: 500 }, output_tokens: 1 }), end({ output_tokens: 50 })],
        reading: { input: 21_550, output: 50, cacheRead: 20_000, cacheWrite: 1_000, cacheWrite1h: 500, outputText: '' },
      },
      {
        name: "keeps message_start's cache counts when message_delta repeats only the uncached input",
        events: [start({ input_tokens: 3, cache_read_input_tokens: 100, output_tokens: 1 }), end({ input_tokens: 3, output_tokens: 9 })],
        reading: { input: 103, output: 9, cacheRead: 100, outputText: '' },
      },
      {
        name: "takes message_delta's cumulative cache counts",
        events: [start({ input_tokens: 3, output_tokens: 1 }), end({ input_tokens: 3, cache_read_input_tokens: 7, cache_creation_input_tokens: 2, output_tokens: 9 })],
        reading: { input: 12, output: 9, cacheRead: 7, cacheWrite: 2, outputText: '' },
      },
      { name: "never takes message_start's output so far for the total", events: [start({ input_tokens: 11, output_tokens: 1 }), delta('x')], reading: { input: 11, output: undefined, outputText: 'x' } },
      { name: "takes a message_delta's own input when it gives one", events: [start({ input_tokens: 11, output_tokens: 1 }), end({ input_tokens: 12, output_tokens: 3 })], reading: { input: 12, output: 3, outputText: '' } },
      { name: 'collects tool input and thinking as output text', events: [JSON.stringify({ type: 'content_block_delta', delta: { partial_json: '{"a"' } }), JSON.stringify({ type: 'content_block_delta', delta: { thinking: 'hm' } })], reading: { output: undefined, outputText: '{"a"hm' } },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const tap = adapter.streamTap(false);
        for (const e of c.events) assert.equal(tap.event(e), e, 'every event passes as it came');
        assert.deepEqual({ ...tap.reading }, c.reading);
      });
    }
  });

  describe('usage from a body', () => {
    const cases: { name: string; body: unknown; input?: number; output?: number; cacheRead?: number; cacheWrite?: number; cacheWrite1h?: number }[] = [
      { name: 'a message', body: { usage: { input_tokens: 11, output_tokens: 7 } }, input: 11, output: 7 },
      { name: 'cached input is input', body: { usage: { input_tokens: 1, cache_read_input_tokens: 10, output_tokens: 7 } }, input: 11, output: 7, cacheRead: 10 },
      { name: 'cache writes are input, 5-minute by default', body: { usage: { input_tokens: 1, cache_creation_input_tokens: 30, output_tokens: 7 } }, input: 31, output: 7, cacheWrite: 30 },
      {
        name: 'cache writes split by duration',
        body: { usage: { input_tokens: 50, cache_read_input_tokens: 20_000, cache_creation_input_tokens: 1_200, cache_creation: { ephemeral_5m_input_tokens: 200, ephemeral_1h_input_tokens: 1_000 }, output_tokens: 50 } },
        input: 21_250, output: 50, cacheRead: 20_000, cacheWrite: 200, cacheWrite1h: 1_000,
      },
      { name: 'the split alone gives the writes', body: { usage: { input_tokens: 0, cache_creation: { ephemeral_1h_input_tokens: 40 }, output_tokens: 1 } }, input: 40, output: 1, cacheWrite: 0, cacheWrite1h: 40 },
      { name: 'no usage: unknown, not zero', body: { type: 'message' } },
      { name: 'not an object', body: null },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const r = adapter.usageFromBody(c.body);
        assert.equal(r.input, c.input);
        assert.equal(r.output, c.output);
        assert.equal(r.cacheRead, c.cacheRead);
        assert.equal(r.cacheWrite, c.cacheWrite);
        assert.equal(r.cacheWrite1h, c.cacheWrite1h);
      });
    }
  });

  describe('error shapes (what the Anthropic SDKs raise)', () => {
    const cases: [ErrorKind, string][] = [
      ['rate-limit', 'rate_limit_error'],
      ['budget', 'rate_limit_error'],
      ['context', 'invalid_request_error'],
      ['identity', 'authentication_error'],
      ['bad-request', 'invalid_request_error'],
      ['not-found', 'not_found_error'],
      ['unavailable', 'overloaded_error'],
    ];
    for (const [kind, type] of cases) {
      it(`${kind}: ${type}`, () => {
        assert.deepEqual(adapter.errorBody(kind, 'why'), { type: 'error', error: { type, message: 'why' } });
      });
    }

    it('context: worded as Anthropic words a prompt over the context window, with the reason after it', () => {
      assert.deepEqual(adapter.errorBody('context', 'why', { inputTokens: 35012, maxInputTokens: 32000 }), {
        type: 'error',
        error: { type: 'invalid_request_error', message: 'prompt is too long: 35012 tokens > 32000 maximum. why' },
      });
    });
  });

  it('builds a messages request with system apart and an output maximum always given', () => {
    const body = adapter.requestFor('/v1/messages', { model: 'claude-haiku-4-5', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }], reserveOutputTokens: 64, stream: true });
    assert.deepEqual(body, { model: 'claude-haiku-4-5', max_tokens: 64, system: 'Be brief.', messages: [{ role: 'user', content: 'hi' }], stream: true });
    assert.equal(call('/v1/messages', body).requestedOutputTokens, 64);
  });

  it('reads the client key from x-api-key or an auth token, and sends the upstream key in x-api-key', () => {
    assert.equal(clientKeyOf(adapter.clientKeys, { 'x-api-key': 'tok-1' }, ''), 'tok-1');
    assert.equal(clientKeyOf(adapter.clientKeys, { authorization: 'Bearer tok-2' }, ''), 'tok-2');
    assert.deepEqual(adapter.authHeaders('sk-ant-up'), { 'x-api-key': 'sk-ant-up' });
  });
});
