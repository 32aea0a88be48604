import * as http from 'node:http';
import * as https from 'node:https';
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
 * Sends requests upstream with node:http and keep-alive agents, exactly as the pipeline built
 * them: its headers only (never the client's own, its identity token among them), its body parts
 * written one after another. Every call is destroyed upstream the moment its client response
 * closes unfinished, so a provider does not keep generating and billing for a client that left.
 * A proxy library did this before; per call it copied the incoming headers, merged options and
 * ran passes the pipeline has no use for (bench/README.md, "Request thread").
 */
export class Upstream {
  private readonly inflight = new WeakMap<http.IncomingMessage, InFlight>();
  /** Calls not yet finished, for shutdown. */
  private readonly open = new Set<http.IncomingMessage>();
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 512 });

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
    let length = 0;
    for (const part of call.body) length += part.length;
    const secure = call.url.protocol === 'https:';
    const options: http.RequestOptions = {
      method: req.method ?? 'POST',
      headers: { ...call.headers, 'content-length': String(length) },
      agent: secure ? this.httpsAgent : this.httpAgent,
    };
    const proxyReq = (secure ? https : http).request(call.url, options);
    f.proxyReq = proxyReq;
    f.timer = setTimeout(() => {
      f.timedOut = true;
      proxyReq.destroy();
    }, call.headerTimeoutMs);
    proxyReq.once('finish', () => (f.sent = true));
    proxyReq.once('response', (proxyRes: http.IncomingMessage) => this.answered(f, proxyRes));
    proxyReq.on('error', (err: NodeJS.ErrnoException) => this.failed(req, f, err));
    // Written before the request has a socket, the head and the parts go out together when it gets one.
    const last = call.body.length - 1;
    for (let i = 0; i < last; i++) proxyReq.write(call.body[i]);
    if (last >= 0) proxyReq.end(call.body[last]);
    else proxyReq.end();
  }

  private answered(f: InFlight, proxyRes: http.IncomingMessage): void {
    if (f.done) {
      proxyRes.destroy();
      return;
    }
    clearTimeout(f.timer);
    f.proxyRes = proxyRes;
    proxyRes.setTimeout(f.call.idleTimeoutMs, () => proxyRes.destroy(new Error(`the upstream sent nothing for ${Math.round(f.call.idleTimeoutMs / 1000)}s`)));
    f.call.onResponse(proxyRes);
  }

  private failed(req: http.IncomingMessage, f: InFlight, err: NodeJS.ErrnoException): void {
    clearTimeout(f.timer);
    if (f.done || f.proxyRes) return;
    f.done = true;
    this.open.delete(req);
    const call = f.call;
    if (f.timedOut) call.onError(new ProxyError('upstream-timeout', `the upstream did not answer within ${Math.round(call.headerTimeoutMs / 1000)}s`), f.sent);
    else call.onError(new ProxyError('upstream-unreachable', `the upstream ${call.url.origin} is unreachable (${err.code ?? err.message})`), f.sent);
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
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
