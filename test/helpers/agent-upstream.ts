import type * as http from 'node:http';
import { LoopbackServer } from './loopback-server';

export interface AgentRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Record<string, unknown> | undefined;
}

/** What the mock answers every model call with, so a test can look for it in the agent's output. */
export const AGENT_REPLY = 'Hello from the mock upstream.';

const usage = { input: 1234, output: 9 };

function sse(res: http.ServerResponse, events: readonly (readonly [string | undefined, unknown])[]): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const [name, data] of events) res.write(`${name ? `event: ${name}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
  res.end();
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * A provider on 127.0.0.1 that answers what the coding agents ask for: Anthropic Messages (Claude
 * Code's `HEAD /` probe, `/v1/messages?beta=true` streamed or not, count_tokens), OpenAI's Responses
 * API streamed the way Codex reads it, and Gemini's generateContent / streamGenerateContent
 * (`alt=sse`). Each model call answers one short text, with usage; every request is recorded.
 */
export class AgentUpstream extends LoopbackServer {
  readonly seen: AgentRequest[] = [];

  /** The model calls it answered (not probes or listings). */
  modelCalls(): AgentRequest[] {
    return this.seen.filter((r) => r.method === 'POST' && /\/v1\/messages(\?|$)|\/v1\/responses(\?|$)|:(stream)?generateContent/i.test(r.url));
  }

  protected handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> | undefined;
      try {
        body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
      } catch {
        body = undefined;
      }
      const url = req.url ?? '';
      this.seen.push({ method: req.method ?? '', url, headers: req.headers, body });
      const path = url.split('?')[0]!;
      if (req.method === 'HEAD' || (req.method === 'GET' && path === '/')) {
        res.writeHead(200);
        res.end();
      } else if (path.endsWith('/v1/messages/count_tokens')) json(res, 200, { input_tokens: usage.input });
      else if (path.endsWith('/v1/messages')) this.anthropic(res, body ?? {});
      else if (path.endsWith('/v1/responses')) this.responses(res, body ?? {});
      else if (/:streamGenerateContent$/.test(path)) this.gemini(res, path, true);
      else if (/:generateContent$/.test(path)) this.gemini(res, path, false);
      else if (/:countTokens$/.test(path)) json(res, 200, { totalTokens: usage.input });
      else if (path.endsWith('/models')) json(res, 200, { object: 'list', data: [] });
      else json(res, 404, { error: { message: `the mock does not serve ${req.method} ${path}` } });
    });
  }

  private anthropic(res: http.ServerResponse, body: Record<string, unknown>): void {
    const model = typeof body.model === 'string' ? body.model : 'claude-haiku-4-5';
    const start = { id: 'msg_mock', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: usage.input, output_tokens: 1 } };
    if (body.stream !== true) {
      json(res, 200, { ...start, content: [{ type: 'text', text: AGENT_REPLY }], stop_reason: 'end_turn', usage: { input_tokens: usage.input, output_tokens: usage.output } });
      return;
    }
    sse(res, [
      ['message_start', { type: 'message_start', message: start }],
      ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
      ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: AGENT_REPLY } }],
      ['content_block_stop', { type: 'content_block_stop', index: 0 }],
      ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: usage.output } }],
      ['message_stop', { type: 'message_stop' }],
    ]);
  }

  /** The Responses API event sequence Codex reads: the item is announced, its text streamed, then done. */
  private responses(res: http.ServerResponse, body: Record<string, unknown>): void {
    const model = typeof body.model === 'string' ? body.model : 'gpt-4o-mini';
    const item = { type: 'message', id: 'msg_mock', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: AGENT_REPLY, annotations: [] }] };
    const response = (status: string, output: unknown[]): Record<string, unknown> => ({
      id: 'resp_mock', object: 'response', created_at: 0, status, model, output,
      usage: status === 'completed' ? { input_tokens: usage.input, input_tokens_details: { cached_tokens: 0 }, output_tokens: usage.output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: usage.input + usage.output } : null,
    });
    if (body.stream !== true) {
      json(res, 200, response('completed', [item]));
      return;
    }
    let n = 0;
    const ev = (type: string, data: Record<string, unknown>): readonly [string, unknown] => [type, { type, sequence_number: n++, ...data }];
    sse(res, [
      ev('response.created', { response: response('in_progress', []) }),
      ev('response.in_progress', { response: response('in_progress', []) }),
      ev('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', content: [] } }),
      ev('response.content_part.added', { output_index: 0, item_id: item.id, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }),
      ev('response.output_text.delta', { output_index: 0, item_id: item.id, content_index: 0, delta: AGENT_REPLY }),
      ev('response.output_text.done', { output_index: 0, item_id: item.id, content_index: 0, text: AGENT_REPLY }),
      ev('response.content_part.done', { output_index: 0, item_id: item.id, content_index: 0, part: item.content[0] }),
      ev('response.output_item.done', { output_index: 0, item }),
      ev('response.completed', { response: response('completed', [item]) }),
    ]);
  }

  private gemini(res: http.ServerResponse, path: string, stream: boolean): void {
    const model = /\/models\/([^/:]+):/.exec(path)?.[1] ?? 'gemini-2.5-flash';
    const reply = {
      candidates: [{ content: { role: 'model', parts: [{ text: AGENT_REPLY }] }, finishReason: 'STOP', index: 0 }],
      usageMetadata: { promptTokenCount: usage.input, candidatesTokenCount: usage.output, totalTokenCount: usage.input + usage.output },
      modelVersion: model,
      responseId: 'gemini_mock',
    };
    if (stream) sse(res, [[undefined, reply]]);
    else json(res, 200, reply);
  }
}
