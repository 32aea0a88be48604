import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallTransport, UpstreamCall, UpstreamHandlers } from '../pipeline/call-transport';
import { readBody } from './body';
import { relayResponse } from './relay';
import type { Upstream } from './upstream';

/** The transport's limits on one call: how much body, how long for it and for the upstream. */
export interface HttpCallLimits {
  readonly maxBodyBytes: number;
  readonly bodyTimeoutMs: number;
  readonly upstreamHeaderTimeoutMs: number;
  readonly upstreamIdleTimeoutMs: number;
}

/** One model call over HTTP: the client's request and response, and its upstream through `upstream`. */
export class HttpCall implements CallTransport {
  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly upstream: Upstream,
    private readonly limits: HttpCallLimits,
  ) {}

  get method(): string {
    return this.req.method ?? 'GET';
  }

  header(name: string): string | undefined {
    const v = this.req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  }

  readBody(): Promise<Buffer> {
    return readBody(this.req, this.limits.maxBodyBytes, this.limits.bodyTimeoutMs);
  }

  setHeader(name: string, value: string): void {
    this.res.setHeader(name, value);
  }

  answer(status: number, headers: Readonly<Record<string, string>>, json: string): void {
    answerJson(this.res, status, headers, json);
  }

  sendUpstream(request: UpstreamCall, handlers: UpstreamHandlers): void {
    const { req, res, upstream } = this;
    upstream.send(req, res, {
      url: request.url,
      headers: request.headers,
      body: request.body,
      headerTimeoutMs: this.limits.upstreamHeaderTimeoutMs,
      idleTimeoutMs: this.limits.upstreamIdleTimeoutMs,
      onError: (err, sent) => handlers.onError(err, sent),
      onResponse: (upstreamRes) =>
        handlers.onResponse({
          relay: (o) =>
            new Promise((resolve) =>
              relayResponse(upstreamRes, res, o.adapter, o.headers, o.stripUsage, (r) => {
                upstream.finished(req);
                resolve(r);
              }, o.secrets),
            ),
          abort: () => upstream.abort(req),
        }),
    });
  }
}

/** Answers with a whole JSON body; a response already begun is cut off instead. */
export function answerJson(res: ServerResponse, status: number, headers: Readonly<Record<string, string>>, json: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}
