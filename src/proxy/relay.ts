import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ProviderAdapter, StreamTap } from '../providers/adapter';
import type { UsageReading } from '../providers/usage';
import { newReading } from '../providers/usage';
import { parseSseEvent, rebuildSseEvent, SseSplitter } from './sse';

// Hop-by-hop headers end at each hop; content-length no longer holds when a stream is rewritten.
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** JSON bodies above this are passed through without being read for usage (charged at the reservation). */
const maxUsageBody = 8 * 1024 * 1024;

export interface RelayResult {
  readonly reading: UsageReading;
  /** The stream ended before its end: the client left or the upstream broke off. */
  readonly aborted: boolean;
  readonly status: number;
}

/**
 * Copies an upstream response to the client as it arrives, reading token usage on the way:
 * server-sent events event by event, JSON bodies at their end. Nothing is buffered for the
 * client beyond one incomplete event, and only when events must be rewritten.
 */
export function relayResponse(
  upstream: IncomingMessage,
  res: ServerResponse,
  adapter: ProviderAdapter,
  extraHeaders: OutgoingHttpHeaders,
  stripUsage: boolean,
  done: (r: RelayResult) => void,
  secrets: readonly string[] = [],
): void {
  const status = upstream.statusCode ?? 502;
  if (res.destroyed || upstream.destroyed) {
    // The client or the upstream went away while the decision was being made durable: their
    // 'close' events have fired already and will not fire again, so the call ends here.
    if (!upstream.destroyed) upstream.destroy();
    if (!res.destroyed) res.destroy();
    done({ reading: newReading(), aborted: true, status });
    return;
  }
  const sse = /^text\/event-stream/i.test(String(upstream.headers['content-type'] ?? ''));
  // An upstream error may quote the key it was sent ("incorrect API key: ..."): error bodies are
  // read whole (they are small) and the real key is cut out before the client sees them.
  if (status >= 400 && !sse && secrets.length > 0) return relayErrorBody(upstream, res, extraHeaders, secrets, done);
  const rewrite = sse && stripUsage;
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(upstream.headers)) {
    if (value === undefined || hopByHop.has(name)) continue;
    if (rewrite && name === 'content-length') continue;
    headers[name] = value;
  }
  Object.assign(headers, extraHeaders);
  res.writeHead(status, headers);
  if (sse) res.flushHeaders();

  let finished = false;
  let tap: StreamTap | undefined;
  let splitter: SseSplitter | undefined;
  const body: Buffer[] = [];
  let bodySize = 0;
  const finish = (aborted: boolean): void => {
    if (finished) return;
    finished = true;
    let reading: UsageReading;
    if (tap && splitter) {
      const rest = splitter.rest();
      if (rest.trim()) tap.event(parseSseEvent(rest).data ?? '');
      reading = tap.reading;
    } else if (bodySize > 0 && bodySize <= maxUsageBody) {
      try {
        reading = adapter.usageFromBody(JSON.parse(Buffer.concat(body, bodySize).toString('utf8')));
      } catch {
        reading = newReading();
      }
    } else reading = newReading();
    done({ reading, aborted, status });
  };

  if (sse) {
    tap = adapter.streamTap(stripUsage);
    splitter = new SseSplitter();
  }
  upstream.on('data', (chunk: Buffer) => {
    if (splitter && tap) {
      const events = splitter.push(chunk);
      if (!rewrite) res.write(chunk);
      for (const raw of events) {
        const ev = parseSseEvent(raw);
        if (ev.data === undefined) {
          if (rewrite) res.write(`${raw}\n\n`);
          continue;
        }
        const out = tap.event(ev.data, ev.name);
        if (rewrite && out !== null) res.write(`${out === ev.data ? raw : rebuildSseEvent(raw, out)}\n\n`);
      }
    } else {
      res.write(chunk);
      if (bodySize <= maxUsageBody) body.push(chunk);
      bodySize += chunk.length;
    }
  });
  upstream.once('end', () => {
    res.end();
    finish(false);
  });
  // The upstream broke off mid-response, or the client left and the call was destroyed upstream.
  upstream.once('close', () => {
    if (!upstream.complete) {
      finish(true);
      if (!res.writableEnded) res.destroy();
    }
  });
  upstream.once('error', () => undefined);
  res.once('close', () => {
    if (!res.writableFinished) finish(true);
  });
}

const maxErrorBody = 1024 * 1024;

function relayErrorBody(upstream: IncomingMessage, res: ServerResponse, extraHeaders: OutgoingHttpHeaders, secrets: readonly string[], done: (r: RelayResult) => void): void {
  const status = upstream.statusCode ?? 502;
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const finish = (aborted: boolean): void => {
    if (finished) return;
    finished = true;
    done({ reading: newReading(), aborted, status });
  };
  upstream.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= maxErrorBody) chunks.push(c);
  });
  upstream.once('end', () => {
    let text = Buffer.concat(chunks).toString('utf8');
    for (const secret of secrets) text = text.split(secret).join('[redacted]');
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(upstream.headers)) {
      if (value !== undefined && !hopByHop.has(name) && name !== 'content-length') headers[name] = value;
    }
    Object.assign(headers, extraHeaders, { 'content-length': Buffer.byteLength(text) });
    res.writeHead(status, headers);
    res.end(text);
    finish(false);
  });
  upstream.once('close', () => {
    if (!upstream.complete) {
      finish(true);
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'the upstream broke off its error response' } }));
      } else if (!res.writableEnded) res.destroy();
    }
  });
  upstream.once('error', () => undefined);
}
