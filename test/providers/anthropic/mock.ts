import type { MockStyle } from '../../helpers/mock-style';

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
      usage: { input_tokens: usage.input, output_tokens: usage.output },
    };
  },

  streamEvents(_url, _body, chunks, usage) {
    const ev = (name: string, data: unknown): string => `event: ${name}\ndata: ${JSON.stringify(data)}`;
    const events = [
      ev('message_start', { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-haiku-4-5', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: usage.input, output_tokens: 1 } } }),
      ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    ];
    for (let i = 0; i < chunks; i++) events.push(ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'word ' } }));
    events.push(ev('content_block_stop', { type: 'content_block_stop', index: 0 }));
    events.push(ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: chunks } }));
    events.push(ev('message_stop', { type: 'message_stop' }));
    return events;
  },
};
