import type { MockStyle, MockUsage } from '../../helpers/mock-style';

/** Cached input and reasoning as chat completions (`prompt`) or the Responses API (`input`) name them. */
function details(usage: MockUsage, names: 'prompt' | 'input'): Record<string, unknown> {
  const [inputDetails, outputDetails] = names === 'prompt' ? ['prompt_tokens_details', 'completion_tokens_details'] : ['input_tokens_details', 'output_tokens_details'];
  return {
    ...(usage.cacheRead !== undefined ? { [inputDetails]: { cached_tokens: usage.cacheRead } } : {}),
    ...(usage.reasoning !== undefined ? { [outputDetails]: { reasoning_tokens: usage.reasoning } } : {}),
  };
}

/** The mock upstream's OpenAI: chat completions, responses, embeddings, completions and models. */
export const openaiMock: MockStyle = {
  style: 'openai',
  serves: () => true,

  reply(url, body, usage) {
    const model = (body?.model as string | undefined) ?? 'none';
    if (url.startsWith('/v1/models')) return { object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model', created: 0, owned_by: 'mock' }] };
    if (url === '/v1/embeddings') return { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }], model, usage: { prompt_tokens: usage.input, total_tokens: usage.input } };
    if (url === '/v1/responses') {
      return { id: 'resp_1', object: 'response', created_at: 0, status: 'completed', model, output: [{ type: 'message', id: 'm1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Hello', annotations: [] }] }], usage: { input_tokens: usage.input, output_tokens: usage.output, total_tokens: usage.input + usage.output, ...details(usage, 'input') } };
    }
    return {
      id: 'chatcmpl-1', object: 'chat.completion', created: 0, model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the mock' }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output, ...details(usage, 'prompt') },
    };
  },

  streamEvents(url, body, chunks, usage) {
    const events: string[] = [];
    if (url === '/v1/responses') {
      for (let i = 0; i < chunks; i++) events.push(`event: response.output_text.delta\ndata: ${JSON.stringify({ type: 'response.output_text.delta', delta: 'word ', output_index: 0, content_index: 0, item_id: 'm1', sequence_number: i })}`);
      events.push(`event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', sequence_number: chunks, response: { id: 'resp_1', status: 'completed', usage: { input_tokens: usage.input, output_tokens: chunks, ...details(usage, 'input') } } })}`);
      return events;
    }
    const withUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    for (let i = 0; i < chunks; i++) {
      const chunk: Record<string, unknown> = { id: 'c1', object: 'chat.completion.chunk', created: 0, model: body.model, choices: [{ index: 0, delta: { content: 'word ' }, finish_reason: null }] };
      if (withUsage) chunk.usage = null;
      events.push(`data: ${JSON.stringify(chunk)}`);
    }
    if (withUsage) events.push(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 0, model: body.model, choices: [], usage: { prompt_tokens: usage.input, completion_tokens: chunks, total_tokens: usage.input + chunks, ...details(usage, 'prompt') } })}`);
    events.push('data: [DONE]');
    return events;
  },
};
