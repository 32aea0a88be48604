// Replies in which the model asks for tool calls, in each style's wire format, whole or streamed
// (each event without its closing blank line, as the mock upstream writes them).

export type ToolCallReply = { readonly stream: false; readonly json: unknown } | { readonly stream: true; readonly events: string[] };

const usage = { input: 11, output: 7 };

function data(json: unknown, event?: string): string {
  return `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(json)}`;
}

function chat(body: Record<string, unknown>, names: readonly string[]): ToolCallReply {
  const model = String(body.model);
  const calls = names.map((name, i) => ({ id: `call_${i}`, type: 'function', function: { name, arguments: '{}' } }));
  const u = { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output };
  if (!body.stream) {
    return { stream: false, json: { id: 'chatcmpl-tools', object: 'chat.completion', created: 0, model, choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: calls }, finish_reason: 'tool_calls' }], usage: u } };
  }
  const chunk = (delta: unknown, finish: string | null = null): string =>
    data({ id: 'chatcmpl-tools', object: 'chat.completion.chunk', created: 0, model, choices: [{ index: 0, delta, finish_reason: finish }] });
  const events = [chunk({ role: 'assistant', content: null })];
  names.forEach((name, i) => {
    events.push(chunk({ tool_calls: [{ index: i, id: `call_${i}`, type: 'function', function: { name, arguments: '' } }] }));
    events.push(chunk({ tool_calls: [{ index: i, function: { arguments: '{}' } }] }));
  });
  events.push(chunk({}, 'tool_calls'));
  events.push(data({ id: 'chatcmpl-tools', object: 'chat.completion.chunk', created: 0, model, choices: [], usage: u }));
  events.push('data: [DONE]');
  return { stream: true, events };
}

function responses(body: Record<string, unknown>, names: readonly string[]): ToolCallReply {
  const model = String(body.model);
  const item = (name: string, i: number, done: boolean): Record<string, unknown> => ({ type: 'function_call', id: `fc_${i}`, call_id: `call_${i}`, name, arguments: done ? '{}' : '', status: done ? 'completed' : 'in_progress' });
  const response = (status: string, output: unknown[]): Record<string, unknown> => ({
    id: 'resp_tools', object: 'response', created_at: 0, status, model, output,
    ...(status === 'completed' ? { usage: { input_tokens: usage.input, output_tokens: usage.output, total_tokens: usage.input + usage.output } } : {}),
  });
  const complete = response('completed', names.map((n, i) => item(n, i, true)));
  if (!body.stream) return { stream: false, json: complete };
  let seq = 0;
  const ev = (type: string, fields: Record<string, unknown>): string => data({ type, sequence_number: seq++, ...fields }, type);
  const events = [ev('response.created', { response: response('in_progress', []) })];
  names.forEach((n, i) => {
    events.push(ev('response.output_item.added', { output_index: i, item: item(n, i, false) }));
    events.push(ev('response.function_call_arguments.delta', { output_index: i, item_id: `fc_${i}`, delta: '{}' }));
    events.push(ev('response.output_item.done', { output_index: i, item: item(n, i, true) }));
  });
  events.push(ev('response.completed', { response: complete }));
  return { stream: true, events };
}

function anthropic(body: Record<string, unknown>, names: readonly string[]): ToolCallReply {
  const model = String(body.model);
  const blocks = names.map((name, i) => ({ type: 'tool_use', id: `toolu_${i}`, name, input: {} }));
  const message = { id: 'msg_tools', type: 'message', role: 'assistant', model, stop_sequence: null };
  if (!body.stream) return { stream: false, json: { ...message, content: blocks, stop_reason: 'tool_use', usage: { input_tokens: usage.input, output_tokens: usage.output } } };
  const events = [data({ type: 'message_start', message: { ...message, content: [], stop_reason: null, usage: { input_tokens: usage.input, output_tokens: 1 } } }, 'message_start')];
  blocks.forEach((b, i) => {
    events.push(data({ type: 'content_block_start', index: i, content_block: b }, 'content_block_start'));
    events.push(data({ type: 'content_block_delta', index: i, delta: { type: 'input_json_delta', partial_json: '{}' } }, 'content_block_delta'));
    events.push(data({ type: 'content_block_stop', index: i }, 'content_block_stop'));
  });
  events.push(data({ type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: usage.output } }, 'message_delta'));
  events.push(data({ type: 'message_stop' }, 'message_stop'));
  return { stream: true, events };
}

function gemini(url: string, names: readonly string[]): ToolCallReply {
  const meta = { promptTokenCount: usage.input, candidatesTokenCount: usage.output, totalTokenCount: usage.input + usage.output };
  const reply = (parts: unknown[], last: boolean): Record<string, unknown> => ({
    candidates: [{ content: { role: 'model', parts }, index: 0, ...(last ? { finishReason: 'STOP' } : {}) }],
    ...(last ? { usageMetadata: meta } : {}), modelVersion: 'gemini-2.5-flash', responseId: 'resp-tools',
  });
  const parts = names.map((name) => ({ functionCall: { name, args: {} } }));
  if (!url.includes(':streamGenerateContent')) return { stream: false, json: reply(parts, true) };
  return { stream: true, events: parts.map((p, i) => data(reply([p], i === parts.length - 1))) };
}

/** The reply asking for tool calls of `names`, in the format of the path it answers. */
export function toolCallReply(url: string, body: Record<string, unknown>, names: readonly string[]): ToolCallReply {
  if (url.startsWith('/v1beta/')) return gemini(url, names);
  if (url.startsWith('/v1/messages')) return anthropic(body, names);
  if (url.startsWith('/v1/responses')) return responses(body, names);
  return chat(body, names);
}
