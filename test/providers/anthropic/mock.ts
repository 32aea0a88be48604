import type { MockStyle, MockUsage } from '../../helpers/mock-style';

/** Anthropic's usage: input_tokens is only the uncached input; cache reads and writes are named apart. */
function anthropicUsage(usage: MockUsage, output: number): Record<string, unknown> {
  const read = usage.cacheRead ?? 0;
  const write5m = usage.cacheWrite ?? 0;
  const write1h = usage.cacheWrite1h ?? 0;
  const cached = usage.cacheRead !== undefined || usage.cacheWrite !== undefined || usage.cacheWrite1h !== undefined;
  return {
    input_tokens: usage.input - read - write5m - write1h,
    ...(cached ? { cache_read_input_tokens: read, cache_creation_input_tokens: write5m + write1h, cache_creation: { ephemeral_5m_input_tokens: write5m, ephemeral_1h_input_tokens: write1h } } : {}),
    output_tokens: output,
  };
}

/** The mock upstream's Anthropic: messages and count_tokens. */
export const anthropicMock: MockStyle = {
  style: 'anthropic',
  serves: (url) => url.startsWith('/v1/messages'),

  reply(url, body, usage) {
    if (url === '/v1/messages/count_tokens') return { input_tokens: usage.input };
    if (url.startsWith('/v1/models')) return { data: [{ type: 'model', id: 'claude-haiku-4-5', display_name: 'Claude Haiku 4.5', created_at: '2025-10-01T00:00:00Z' }], has_more: false, first_id: 'claude-haiku-4-5', last_id: 'claude-haiku-4-5' };
    if (!url.startsWith('/v1/messages')) return {};
    return {
      id: 'msg_1', type: 'message', role: 'assistant', model: (body?.model as string | undefined) ?? 'none', content: [{ type: 'text', text: 'Hello from the mock' }], stop_reason: 'end_turn', stop_sequence: null,
      usage: anthropicUsage(usage, usage.output),
    };
  },

  streamEvents(_url, _body, chunks, usage) {
    const ev = (name: string, data: unknown): string => `event: ${name}\ndata: ${JSON.stringify(data)}`;
    const events = [
      ev('message_start', { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-haiku-4-5', content: [], stop_reason: null, stop_sequence: null, usage: anthropicUsage(usage, 1) } }),
      ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    ];
    for (let i = 0; i < chunks; i++) events.push(ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'word ' } }));
    events.push(ev('content_block_stop', { type: 'content_block_stop', index: 0 }));
    events.push(ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: chunks } }));
    events.push(ev('message_stop', { type: 'message_stop' }));
    return events;
  },
};
