import assert from 'node:assert/strict';
import type { ModelCall } from '../../../../src/contracts/call';
import type { ErrorKind } from '../../../../src/contracts/refusal';
import { clientKeyOf } from '../../../../src/providers/client-key';
import { openaiAdapter as adapter } from '../../../../src/providers/openai/adapter';
import type { RewriteCase } from '../../../helpers/rewrite-cases';
import { itRewrites } from '../../../helpers/rewrite-cases';

function call(route: string, body: Record<string, unknown>): ModelCall {
  return adapter.describe('openai', route, 'POST', body);
}

const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };

describe('openai adapter', () => {
  describe('rewrite', () => {
    const cases: RewriteCase[] = [
      { name: 'serves a downgraded model', route: '/v1/chat/completions', body: chat, changes: { model: 'gpt-4o-mini' }, expect: { ...chat, model: 'gpt-4o-mini' }, strippedUsage: false },
      { name: 'clamps the output field the client used', route: '/v1/chat/completions', body: { ...chat, max_tokens: 5000 }, changes: { outputCap: 100 }, expect: { ...chat, max_tokens: 100 }, strippedUsage: false },
      { name: 'clamps every output field the client used', route: '/v1/chat/completions', body: { ...chat, max_tokens: 5000, max_completion_tokens: 50 }, changes: { outputCap: 100 }, expect: { ...chat, max_tokens: 100, max_completion_tokens: 50 }, strippedUsage: false },
      { name: "adds chat's own output field when none is given", route: '/v1/chat/completions', body: chat, changes: { outputCap: 100 }, expect: { ...chat, max_completion_tokens: 100 }, strippedUsage: false },
      { name: "adds responses' own output field when none is given", route: '/v1/responses', body: { model: 'gpt-4o', input: 'hi' }, changes: { outputCap: 100 }, expect: { model: 'gpt-4o', input: 'hi', max_output_tokens: 100 }, strippedUsage: false },
      { name: 'gives embeddings no output field', route: '/v1/embeddings', body: { model: 'text-embedding-3-small', input: 'hi' }, changes: { outputCap: 100 }, expect: { model: 'text-embedding-3-small', input: 'hi' }, strippedUsage: false },
      { name: 'puts the pseudonym in user', route: '/v1/chat/completions', body: { ...chat, user: 'alice@acme.dev' }, changes: { pseudonym: 'u-1' }, expect: { ...chat, user: 'u-1' }, strippedUsage: false },
      { name: 'asks a chat stream for usage the client did not', route: '/v1/chat/completions', body: { ...chat, stream: true }, changes: {}, expect: { ...chat, stream: true, stream_options: { include_usage: true } }, strippedUsage: true },
      { name: 'leaves a stream that asks for usage itself', route: '/v1/chat/completions', body: { ...chat, stream: true, stream_options: { include_usage: true } }, changes: {}, expect: { ...chat, stream: true, stream_options: { include_usage: true } }, strippedUsage: false },
      { name: 'asks a completions stream for usage', route: '/v1/completions', body: { model: 'gpt-3.5-turbo-instruct', prompt: 'hi', stream: true }, changes: {}, expect: { model: 'gpt-3.5-turbo-instruct', prompt: 'hi', stream: true, stream_options: { include_usage: true } }, strippedUsage: true },
      { name: 'leaves a responses stream, which reports usage anyway', route: '/v1/responses', body: { model: 'gpt-4o', input: 'hi', stream: true }, changes: {}, expect: { model: 'gpt-4o', input: 'hi', stream: true }, strippedUsage: false },
    ];
    itRewrites(adapter, call, cases);
  });

  describe('stream tap', () => {
    const content = JSON.stringify({ id: 'c', choices: [{ index: 0, delta: { content: 'Hel' } }], usage: null });
    const usageOnly = JSON.stringify({ id: 'c', choices: [], usage: { prompt_tokens: 11, completion_tokens: 3 } });
    const chatUsage = { prompt_tokens: 2_000, completion_tokens: 300, prompt_tokens_details: { cached_tokens: 1_536 }, completion_tokens_details: { reasoning_tokens: 256 } };
    const responsesUsage = { input_tokens: 2_000, output_tokens: 300, input_tokens_details: { cached_tokens: 1_024 }, output_tokens_details: { reasoning_tokens: 128 } };
    const cases: { name: string; strip: boolean; events: string[]; out: (string | null)[]; reading: { input?: number; output?: number; cacheRead?: number; reasoning?: number; outputText: string } }[] = [
      {
        name: "reads a chat stream's cached input and reasoning", strip: false, events: [JSON.stringify({ id: 'c', choices: [], usage: chatUsage })],
        out: [JSON.stringify({ id: 'c', choices: [], usage: chatUsage })], reading: { input: 2_000, output: 300, cacheRead: 1_536, reasoning: 256, outputText: '' },
      },
      {
        name: "reads a responses stream's cached input and reasoning", strip: false, events: [JSON.stringify({ type: 'response.completed', response: { usage: responsesUsage } })],
        out: [JSON.stringify({ type: 'response.completed', response: { usage: responsesUsage } })], reading: { input: 2_000, output: 300, cacheRead: 1_024, reasoning: 128, outputText: '' },
      },
      { name: 'reads chat usage and passes every event as it came', strip: false, events: [content, usageOnly, '[DONE]'], out: [content, usageOnly, '[DONE]'], reading: { input: 11, output: 3, outputText: 'Hel' } },
      {
        name: 'drops the usage the proxy asked for, so the client gets the stream it asked for', strip: true, events: [content, usageOnly, '[DONE]'],
        out: [JSON.stringify({ id: 'c', choices: [{ index: 0, delta: { content: 'Hel' } }] }), null, '[DONE]'], reading: { input: 11, output: 3, outputText: 'Hel' },
      },
      {
        name: "reads a responses stream's completed usage and its text deltas", strip: false,
        events: [JSON.stringify({ type: 'response.output_text.delta', delta: 'Hi' }), JSON.stringify({ type: 'response.completed', response: { usage: { input_tokens: 5, output_tokens: 2 } } })],
        out: [JSON.stringify({ type: 'response.output_text.delta', delta: 'Hi' }), JSON.stringify({ type: 'response.completed', response: { usage: { input_tokens: 5, output_tokens: 2 } } })], reading: { input: 5, output: 2, outputText: 'Hi' },
      },
      { name: 'passes what is not JSON untouched and reads nothing from it', strip: true, events: ['not json'], out: ['not json'], reading: { outputText: '' } },
      {
        name: 'collects tool-call arguments as output text, for a stream cut before usage', strip: false,
        events: [JSON.stringify({ choices: [{ delta: { tool_calls: [{ function: { arguments: '{"a":1}' } }] } }] })], out: [JSON.stringify({ choices: [{ delta: { tool_calls: [{ function: { arguments: '{"a":1}' } }] } }] })], reading: { outputText: '{"a":1}' },
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const tap = adapter.streamTap(c.strip);
        assert.deepEqual(c.events.map((e) => tap.event(e)), c.out);
        assert.deepEqual({ ...tap.reading }, c.reading);
      });
    }
  });

  describe('usage from a body', () => {
    const cases: { name: string; body: unknown; input?: number; output?: number; cacheRead?: number; reasoning?: number }[] = [
      { name: 'chat and completions', body: { usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } }, input: 11, output: 7 },
      {
        name: 'chat: cached input and reasoning are parts of the totals',
        body: { usage: { prompt_tokens: 2_000, completion_tokens: 300, prompt_tokens_details: { cached_tokens: 1_536, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 256 } } },
        input: 2_000, output: 300, cacheRead: 1_536, reasoning: 256,
      },
      {
        name: 'responses: input_tokens_details and output_tokens_details',
        body: { usage: { input_tokens: 2_000, output_tokens: 300, input_tokens_details: { cached_tokens: 1_024 }, output_tokens_details: { reasoning_tokens: 128 } } },
        input: 2_000, output: 300, cacheRead: 1_024, reasoning: 128,
      },
      { name: 'null details: nothing cached said', body: { usage: { prompt_tokens: 5, completion_tokens: 1, prompt_tokens_details: null, completion_tokens_details: null } }, input: 5, output: 1 },
      { name: 'responses', body: { usage: { input_tokens: 4, output_tokens: 2 } }, input: 4, output: 2 },
      { name: 'embeddings (input only)', body: { usage: { prompt_tokens: 9, total_tokens: 9 } }, input: 9 },
      { name: 'no usage: unknown, not zero', body: { id: 'x' } },
      { name: 'a negative or non-numeric count is not a count', body: { usage: { prompt_tokens: -1, completion_tokens: '7' } } },
      { name: 'not an object', body: 'oops' },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const r = adapter.usageFromBody(c.body);
        assert.equal(r.input, c.input);
        assert.equal(r.output, c.output);
        assert.equal(r.cacheRead, c.cacheRead);
        assert.equal(r.reasoning, c.reasoning);
      });
    }
  });

  describe('error shapes (what the OpenAI SDKs raise)', () => {
    const cases: [ErrorKind, string, string | null][] = [
      ['rate-limit', 'rate_limit_exceeded', 'rate_limit_exceeded'],
      ['budget', 'insufficient_quota', 'insufficient_quota'],
      ['identity', 'invalid_request_error', 'invalid_api_key'],
      ['entitlement', 'permission_error', 'model_not_entitled'],
      ['bad-request', 'invalid_request_error', null],
      ['unavailable', 'server_error', 'service_unavailable'],
    ];
    for (const [kind, type, code] of cases) {
      it(`${kind}: ${type} / ${code}`, () => {
        assert.deepEqual(adapter.errorBody(kind, 'why'), { error: { message: 'why', type, param: null, code } });
      });
    }

    it('context: worded as OpenAI words a prompt over the context window, with the reason after it', () => {
      assert.deepEqual(adapter.errorBody('context', 'why', { inputTokens: 35012, maxInputTokens: 32000 }), {
        error: {
          message: "This model's maximum context length is 32000 tokens. However, your messages resulted in 35012 tokens. Please reduce the length of the messages. why",
          type: 'invalid_request_error',
          param: 'messages',
          code: 'context_length_exceeded',
        },
      });
      assert.deepEqual(adapter.errorBody('context', 'why'), { error: { message: 'why', type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } });
    });
  });

  describe('requests built from a plain description', () => {
    const plain = { model: 'gpt-4o', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }], maxTokens: 20, reserveOutputTokens: 64 };
    const cases: { route: string; expect: Record<string, unknown>; kind: ModelCall['kind'] }[] = [
      { route: '/v1/chat/completions', expect: { model: 'gpt-4o', messages: plain.messages, max_tokens: 20 }, kind: 'generate' },
      { route: '/v1/responses', expect: { model: 'gpt-4o', instructions: 'Be brief.', input: [{ role: 'user', content: 'hi' }], max_output_tokens: 20 }, kind: 'generate' },
      { route: '/v1/embeddings', expect: { model: 'gpt-4o', input: ['Be brief.', 'hi'] }, kind: 'embed' },
      { route: '/v1/completions', expect: { model: 'gpt-4o', prompt: 'Be brief.\nhi', max_tokens: 20 }, kind: 'generate' },
    ];
    for (const c of cases) {
      it(`${c.route}: a body the adapter describes as a call of kind ${c.kind}`, () => {
        const body = adapter.requestFor(c.route, plain);
        assert.deepEqual(body, c.expect);
        assert.equal(call(c.route, body).kind, c.kind);
      });
    }
  });

  it('reads the client key from Authorization: Bearer, then x-api-key', () => {
    assert.equal(clientKeyOf(adapter.clientKeys, { authorization: 'Bearer tok-1' }, ''), 'tok-1');
    assert.equal(clientKeyOf(adapter.clientKeys, { authorization: 'Basic abc', 'x-api-key': ' tok-2 ' }, ''), 'tok-2');
    assert.equal(clientKeyOf(adapter.clientKeys, {}, '?key=tok-3'), undefined, 'an OpenAI client never puts its key in the query');
    assert.deepEqual(adapter.authHeaders('sk-up'), { authorization: 'Bearer sk-up' });
  });
});
