import type * as http from 'node:http';
import { LoopbackServer } from './loopback-server';
import { anthropicMock } from '../providers/anthropic/mock';
import { geminiMock } from '../providers/gemini/mock';
import { openaiMock } from '../providers/openai/mock';
import type { MockStyle, MockUsage } from './mock-style';
import { toolCallReply } from './mock-tool-calls';

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
  /** The model asks for calls of these tools (each once, in order), streamed when the request streams. */
  | { kind: 'tool-calls'; names: readonly string[] }
  /** Answers with a handler of the test's own (an upstream that echoes what it was sent, say). */
  | { kind: 'custom'; handle: (req: SeenRequest, res: http.ServerResponse) => void };

type StreamBehaviour = { chunks: number; intervalMs: number; dieAfter?: number; gate?: (sent: number) => Promise<void> };

/**
 * A provider on 127.0.0.1 that speaks enough of each style's wire format for the official SDKs
 * (the styles' parts are in test/providers/<style>/mock.ts; by default Gemini's, OpenAI's and Anthropic's):
 * chat completions, responses, embeddings, completions, models and messages, each streamed or
 * not, with usage. It records what reached it and whether each call was cut off.
 */
export class MockUpstream extends LoopbackServer {
  readonly seen: SeenRequest[] = [];
  /** Calls whose connection closed before the mock finished its reply. */
  closedEarly = 0;
  finished = 0;
  next: Behaviour[] = [];
  readonly inputTokens = 11;
  readonly outputTokens = 7;
  /** The billed parts of the usage every reply reports (cache reads and writes, reasoning); none by default. */
  billed: Omit<MockUsage, 'input' | 'output'> = {};
  /** Total input every reply reports, when a test sets one (cache parts are within it). */
  input?: number;

  /** The first style that claims a path answers it; the last answers the paths styles share. */
  constructor(private readonly styles: readonly MockStyle[] = [geminiMock, anthropicMock, openaiMock]) {
    super();
  }

  last(): SeenRequest {
    const r = this.seen[this.seen.length - 1];
    if (!r) throw new Error('the mock upstream saw no request');
    return r;
  }

  protected handle(req: http.IncomingMessage, res: http.ServerResponse): void {
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
      const url = req.url ?? '';
      if (behaviour.kind === 'tool-calls') {
        const reply = toolCallReply(url, body ?? {}, behaviour.names);
        if (!reply.stream) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(reply.json));
          return;
        }
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        return this.drip(res, reply.events, { chunks: reply.events.length, intervalMs: 0 });
      }
      // A path no style claims as its own (models, the root) is the last style's.
      const style = this.styles.find((s) => s.serves(url)) ?? this.styles[this.styles.length - 1]!;
      const usage: MockUsage = { input: this.input ?? this.inputTokens, output: this.outputTokens, ...this.billed };
      if (body?.stream || style.streams?.(url) || behaviour.kind === 'stream') {
        const b = behaviour.kind === 'stream' ? behaviour : { kind: 'stream' as const, chunks: 3, intervalMs: 0 };
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        return this.drip(res, style.streamEvents(url, body ?? {}, b.chunks, usage), b);
      }
      const reply = JSON.stringify(style.reply(url, body, usage));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply) });
      res.end(reply);
    });
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
