import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Record<string, unknown> | undefined;
}

/** How the mock answers one request; the default is a normal reply in the caller's format. */
export type Behaviour =
  | { kind: 'normal' }
  | { kind: 'status'; status: number; body: unknown }
  | { kind: 'hang' }
  /**
   * Streams `chunks` events slowly; `dieAfter` destroys the socket after that many events. With
   * `gate`, content event i + 1 is sent only once `gate(i)` resolves (the client has event i).
   */
  | { kind: 'stream'; chunks: number; intervalMs: number; dieAfter?: number; gate?: (sent: number) => Promise<void> }
  /** Answers with a handler of the test's own (an upstream that echoes what it was sent, say). */
  | { kind: 'custom'; handle: (req: SeenRequest, res: http.ServerResponse) => void };

type StreamBehaviour = { chunks: number; intervalMs: number; dieAfter?: number; gate?: (sent: number) => Promise<void> };

/**
 * A provider on 127.0.0.1 that speaks enough of the OpenAI and Anthropic wire formats for the
 * official SDKs: chat completions, responses, embeddings, completions, models and messages, each
 * streamed or not, with usage. It records what reached it and whether each call was cut off.
 */
export class MockUpstream {
  readonly seen: SeenRequest[] = [];
  /** Calls whose connection closed before the mock finished its reply. */
  closedEarly = 0;
  finished = 0;
  next: Behaviour[] = [];
  private server!: http.Server;
  readonly inputTokens = 11;
  readonly outputTokens = 7;

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  last(): SeenRequest {
    const r = this.seen[this.seen.length - 1];
    if (!r) throw new Error('the mock upstream saw no request');
    return r;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
      this.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      let ended = false;
      res.once('finish', () => {
        ended = true;
        this.finished++;
      });
      res.once('close', () => {
        if (!ended) this.closedEarly++;
      });
      const behaviour = this.next.shift() ?? { kind: 'normal' };
      if (behaviour.kind === 'hang') return;
      if (behaviour.kind === 'custom') return behaviour.handle(this.last(), res);
      if (behaviour.kind === 'status') {
        res.writeHead(behaviour.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(behaviour.body));
        return;
      }
      const anthropic = (req.url ?? '').startsWith('/v1/messages');
      if (body?.stream || behaviour.kind === 'stream') {
        const b = behaviour.kind === 'stream' ? behaviour : { kind: 'stream' as const, chunks: 3, intervalMs: 0 };
        return anthropic ? this.streamAnthropic(res, b) : this.streamOpenAI(req.url ?? '', body ?? {}, res, b);
      }
      this.reply(req, res, body, anthropic);
    });
  }

  private reply(req: http.IncomingMessage, res: http.ServerResponse, body: Record<string, unknown> | undefined, anthropic: boolean): void {
    const url = req.url ?? '';
    let out: unknown;
    const model = (body?.model as string | undefined) ?? 'none';
    if (url.startsWith('/v1/models')) out = { object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model', created: 0, owned_by: 'mock' }] };
    else if (url === '/v1/messages/count_tokens') out = { input_tokens: this.inputTokens };
    else if (anthropic) {
      out = {
        id: 'msg_1', type: 'message', role: 'assistant', model, content: [{ type: 'text', text: 'Hello from the mock' }], stop_reason: 'end_turn', stop_sequence: null,
        usage: { input_tokens: this.inputTokens, output_tokens: this.outputTokens },
      };
    } else if (url === '/v1/embeddings') out = { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }], model, usage: { prompt_tokens: this.inputTokens, total_tokens: this.inputTokens } };
    else if (url === '/v1/responses') {
      out = { id: 'resp_1', object: 'response', created_at: 0, status: 'completed', model, output: [{ type: 'message', id: 'm1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Hello', annotations: [] }] }], usage: { input_tokens: this.inputTokens, output_tokens: this.outputTokens, total_tokens: 18 } };
    } else {
      out = {
        id: 'chatcmpl-1', object: 'chat.completion', created: 0, model,
        choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the mock' }, finish_reason: 'stop', logprobs: null }],
        usage: { prompt_tokens: this.inputTokens, completion_tokens: this.outputTokens, total_tokens: 18 },
      };
    }
    const text = JSON.stringify(out);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private streamOpenAI(url: string, body: Record<string, unknown>, res: http.ServerResponse, b: StreamBehaviour): void {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const withUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    const events: string[] = [];
    if (url === '/v1/responses') {
      for (let i = 0; i < b.chunks; i++) events.push(`event: response.output_text.delta\ndata: ${JSON.stringify({ type: 'response.output_text.delta', delta: 'word ', output_index: 0, content_index: 0, item_id: 'm1', sequence_number: i })}`);
      events.push(`event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', sequence_number: b.chunks, response: { id: 'resp_1', status: 'completed', usage: { input_tokens: this.inputTokens, output_tokens: b.chunks } } })}`);
    } else {
      for (let i = 0; i < b.chunks; i++) {
        const chunk: Record<string, unknown> = { id: 'c1', object: 'chat.completion.chunk', created: 0, model: body.model, choices: [{ index: 0, delta: { content: 'word ' }, finish_reason: null }] };
        if (withUsage) chunk.usage = null;
        events.push(`data: ${JSON.stringify(chunk)}`);
      }
      if (withUsage) events.push(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 0, model: body.model, choices: [], usage: { prompt_tokens: this.inputTokens, completion_tokens: b.chunks, total_tokens: this.inputTokens + b.chunks } })}`);
      events.push('data: [DONE]');
    }
    this.drip(res, events, b);
  }

  private streamAnthropic(res: http.ServerResponse, b: StreamBehaviour): void {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const ev = (name: string, data: unknown): string => `event: ${name}\ndata: ${JSON.stringify(data)}`;
    const events = [
      ev('message_start', { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-haiku-4-5', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: this.inputTokens, output_tokens: 1 } } }),
      ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    ];
    for (let i = 0; i < b.chunks; i++) events.push(ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'word ' } }));
    events.push(ev('content_block_stop', { type: 'content_block_stop', index: 0 }));
    events.push(ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: b.chunks } }));
    events.push(ev('message_stop', { type: 'message_stop' }));
    this.drip(res, events, b);
  }

  private drip(res: http.ServerResponse, events: string[], b: StreamBehaviour): void {
    let i = 0;
    let opened = 0; // the content event up to which the gate has let the stream go
    const send = (): void => {
      if (res.destroyed) return;
      if (b.gate && i > opened && i < b.chunks) {
        const at = i;
        void b.gate(at).then(() => {
          opened = at;
          send();
        });
        return;
      }
      if (b.dieAfter !== undefined && i >= b.dieAfter) {
        res.socket?.destroy();
        return;
      }
      if (i >= events.length) {
        res.end();
        return;
      }
      res.write(`${events[i++]}\n\n`);
      if (b.intervalMs > 0) setTimeout(send, b.intervalMs);
      else setImmediate(send);
    };
    send();
  }
}
