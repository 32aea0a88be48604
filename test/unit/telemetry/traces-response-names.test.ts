import assert from 'node:assert/strict';
import type { ProviderAdapter } from '../../../src/providers/adapter';
import { anthropicAdapter } from '../../../src/providers/anthropic/adapter';
import { azureOpenAIAdapter } from '../../../src/providers/azure-openai/adapter';
import { geminiAdapter } from '../../../src/providers/gemini/adapter';
import { openaiAdapter } from '../../../src/providers/openai/adapter';
import type { ResponseNames } from '../../../src/providers/usage';

// gen_ai.response.id and gen_ai.response.model, read where each adapter already reads usage.

function streamed(adapter: ProviderAdapter, events: unknown[]): ResponseNames | undefined {
  const tap = adapter.streamTap(false);
  for (const e of events) tap.event(JSON.stringify(e));
  return tap.response;
}

describe('traces: the response id and model each provider names', () => {
  it('OpenAI chat completions, whole and streamed', () => {
    assert.deepEqual(openaiAdapter.responseFromBody!({ id: 'chatcmpl-1', object: 'chat.completion', model: 'gpt-4o-mini-2024-07-18', usage: {} }), { id: 'chatcmpl-1', model: 'gpt-4o-mini-2024-07-18' });
    const chunk = { id: 'chatcmpl-2', object: 'chat.completion.chunk', model: 'gpt-4o-mini-2024-07-18', choices: [{ index: 0, delta: { content: 'Hi' } }] };
    assert.deepEqual(streamed(openaiAdapter, [chunk, { ...chunk, choices: [], usage: { prompt_tokens: 1, completion_tokens: 1 } }]), { id: 'chatcmpl-2', model: 'gpt-4o-mini-2024-07-18' });
  });

  it('OpenAI responses, whole and streamed (the events name it in `response`)', () => {
    assert.deepEqual(openaiAdapter.responseFromBody!({ id: 'resp_1', object: 'response', model: 'gpt-4o-2024-08-06' }), { id: 'resp_1', model: 'gpt-4o-2024-08-06' });
    const events = [
      { type: 'response.created', sequence_number: 0, response: { id: 'resp_2', model: 'gpt-4o-2024-08-06', status: 'in_progress' } },
      { type: 'response.output_text.delta', sequence_number: 1, item_id: 'msg_1', delta: 'Hi' },
      { type: 'response.completed', sequence_number: 2, response: { id: 'resp_2', model: 'gpt-4o-2024-08-06', usage: { input_tokens: 1, output_tokens: 1 } } },
    ];
    assert.deepEqual(streamed(openaiAdapter, events), { id: 'resp_2', model: 'gpt-4o-2024-08-06' });
    assert.deepEqual(streamed(azureOpenAIAdapter, events), { id: 'resp_2', model: 'gpt-4o-2024-08-06' });
  });

  it('Anthropic messages, whole and streamed (message_start names it)', () => {
    assert.deepEqual(anthropicAdapter.responseFromBody!({ id: 'msg_1', type: 'message', model: 'claude-haiku-4-5-20251001' }), { id: 'msg_1', model: 'claude-haiku-4-5-20251001' });
    const events = [
      { type: 'message_start', message: { id: 'msg_2', type: 'message', model: 'claude-haiku-4-5-20251001', usage: { input_tokens: 3, output_tokens: 1 } } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } },
      { type: 'message_delta', usage: { output_tokens: 2 } },
    ];
    assert.deepEqual(streamed(anthropicAdapter, events), { id: 'msg_2', model: 'claude-haiku-4-5-20251001' });
  });

  it('Gemini generateContent, whole, as a JSON array and streamed (responseId, modelVersion)', () => {
    const reply = { candidates: [], responseId: 'r-1', modelVersion: 'gemini-2.5-flash-001' };
    assert.deepEqual(geminiAdapter.responseFromBody!(reply), { id: 'r-1', model: 'gemini-2.5-flash-001' });
    assert.deepEqual(geminiAdapter.responseFromBody!([reply, { ...reply, responseId: 'r-1' }]), { id: 'r-1', model: 'gemini-2.5-flash-001' });
    assert.deepEqual(streamed(geminiAdapter, [reply, { ...reply, candidates: [{ finishReason: 'STOP' }] }]), { id: 'r-1', model: 'gemini-2.5-flash-001' });
  });

  it('takes only strings, and bounds their length: an upstream could send anything', () => {
    assert.deepEqual(openaiAdapter.responseFromBody!({ id: 42, model: { evil: true } }), {});
    assert.deepEqual(openaiAdapter.responseFromBody!('oops'), {});
    assert.deepEqual(anthropicAdapter.responseFromBody!(null), {});
    const long = openaiAdapter.responseFromBody!({ id: 'x'.repeat(10_000), model: '' });
    assert.equal(long.id!.length, 256);
    assert.equal(long.model, undefined);
  });
});
