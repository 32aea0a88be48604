import * as http from 'node:http';
import * as https from 'node:https';
import { Stream } from 'node:stream';
import httpProxy from 'http-proxy';
import { ProxyError } from '../pipeline/errors';

export interface UpstreamRequest {
  readonly url: URL;
  readonly headers: Record<string, string>;
  /** The body to send, in parts written one after another (a large body is never joined into one). */
  readonly body: readonly Buffer[];
  /** Longest wait for the upstream's response headers. */
  readonly headerTimeoutMs: number;
  /** Longest silence while a response streams. */
  readonly idleTimeoutMs: number;
  readonly onResponse: (res: http.IncomingMessage) => void;
  /**
   * No response came: the upstream could not be reached, did not answer in time, or the client
   * left first (`client-closed`). `sent` says whether the whole request reached the upstream, which
   * may then have done (and billed) the work. Exactly one of onResponse and onError is called.
   */
  readonly onError: (err: ProxyError, sent: boolean) => void;
}

interface InFlight {
  readonly call: UpstreamRequest;
  proxyReq?: http.ClientRequest;
  proxyRes?: http.IncomingMessage;
  timer?: NodeJS.Timeout;
  timedOut: boolean;
  /** The request was written to the upstream in full. */
  sent: boolean;
  done: boolean;
}

/**
 * The rewritten body, as http-proxy's `buffer` option: http-proxy only ever pipes it into the
 * upstream request, so its parts are written there directly. A stream over them (Readable.from)
 * cost an async iterator and several turns per call for the same bytes; joining a large body's
 * parts into one buffer first would copy it all on the request thread.
 */
class BodySource extends Stream {
  constructor(private readonly parts: readonly Buffer[]) {
    super();
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T): T {
    for (const part of this.parts) destination.write(part);
    destination.end();
    return destination;
  }
}

/**
 * Sends requests upstream through http-proxy, with keep-alive agents. http-proxy alone leaves the
 * upstream request open when a client cancels a streamed reply, so the provider keeps generating
 * and billing: every call here is destroyed upstream the moment its client response closes unfinished.
 */
export class Upstream {
  private readonly proxy = httpProxy.createProxyServer({});
  private readonly inflight = new WeakMap<http.IncomingMessage, InFlight>();
  /** Calls not yet finished, for shutdown. */
  private readonly open = new Set<http.IncomingMessage>();
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 512 });

  constructor() {
    this.proxy.on('proxyReq', (proxyReq, req) => {
      const f = this.inflight.get(req);
      if (!f) return;
      f.proxyReq = proxyReq;
      proxyReq.once('finish', () => (f.sent = true));
      f.timer = setTimeout(() => {
        f.timedOut = true;
        proxyReq.destroy();
      }, f.call.headerTimeoutMs);
    });
    this.proxy.on('proxyRes', (proxyRes, req) => {
      const f = this.inflight.get(req);
      if (!f || f.done) {
        proxyRes.destroy();
        return;
      }
      clearTimeout(f.timer);
      f.proxyRes = proxyRes;
      proxyRes.setTimeout(f.call.idleTimeoutMs, () => proxyRes.destroy(new Error(`the upstream sent nothing for ${Math.round(f.call.idleTimeoutMs / 1000)}s`)));
      f.call.onResponse(proxyRes);
    });
    // http-proxy reports a reset on a socket the client already closed here, not to the callback.
    this.proxy.on('econnreset', () => undefined);
  }

  send(req: http.IncomingMessage, res: http.ServerResponse, call: UpstreamRequest): void {
    const f: InFlight = { call, timedOut: false, sent: false, done: false };
    this.inflight.set(req, f);
    this.open.add(req);
    if (res.destroyed) {
      // The client left while the call was being decided: nothing goes upstream.
      f.done = true;
      this.open.delete(req);
      queueMicrotask(() => call.onError(new ProxyError('client-closed', 'the client closed the connection before the call was sent'), false));
      return;
    }
    res.once('close', () => {
      if (!res.writableFinished) this.abort(req);
    });
    // http-proxy copies the incoming headers; the client's own (its identity token among them)
    // must never reach the provider, so the outgoing set is exactly the one given here.
    req.headers = {};
    this.proxy.web(
      req,
      res,
      {
        target: call.url.toString(),
        ignorePath: true,
        changeOrigin: true,
        selfHandleResponse: true,
        buffer: new BodySource(call.body),
        headers: { ...call.headers, 'content-length': String(call.body.reduce((n, b) => n + b.length, 0)) },
        agent: call.url.protocol === 'https:' ? this.httpsAgent : this.httpAgent,
      },
      (err: NodeJS.ErrnoException) => {
        clearTimeout(f.timer);
        if (f.done || f.proxyRes) return;
        f.done = true;
        this.open.delete(req);
        if (f.timedOut) call.onError(new ProxyError('upstream-timeout', `the upstream did not answer within ${Math.round(call.headerTimeoutMs / 1000)}s`), f.sent);
        else call.onError(new ProxyError('upstream-unreachable', `the upstream ${call.url.origin} is unreachable (${err.code ?? err.message})`), f.sent);
      },
    );
  }

  /**
   * Stops a call upstream: the request if no response came yet (the call then ends with a
   * `client-closed` error), the response stream otherwise (its relay sees the stream cut).
   */
  abort(req: http.IncomingMessage): void {
    const f = this.inflight.get(req);
    if (!f || f.done) return;
    f.done = true;
    this.open.delete(req);
    clearTimeout(f.timer);
    if (f.proxyRes) {
      f.proxyRes.destroy();
      return;
    }
    f.proxyReq?.destroy();
    f.call.onError(new ProxyError('client-closed', 'the client closed the connection before the upstream answered'), f.sent);
  }

  /** Stops every call still open: on shutdown, once calls in flight have had their time. */
  abortAll(): void {
    for (const req of [...this.open]) this.abort(req);
  }

  finished(req: http.IncomingMessage): void {
    const f = this.inflight.get(req);
    if (f) {
      f.done = true;
      this.open.delete(req);
      clearTimeout(f.timer);
    }
  }

  close(): void {
    this.proxy.close();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
