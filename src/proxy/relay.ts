import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ProviderAdapter, StreamTap } from '../providers/adapter';
import type { ResponseNames, UsageReading } from '../providers/usage';
import { newReading } from '../providers/usage';
import { KeyPattern, KeyRedactor, redactBytes, redactHeaderText } from './key-redactor';
import { SseReader, writeSseEvent } from './sse';

// Hop-by-hop headers end at each hop; content-length no longer holds when a body is rewritten.
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** JSON bodies above this are passed through without being read for usage (charged at the reservation). */
const maxUsageBody = 8 * 1024 * 1024;

export interface RelayResult {
  readonly reading: UsageReading;
  /** The response's id and model, where it names them. */
  readonly response?: ResponseNames;
  /** The stream ended before its end: the client left or the upstream broke off. */
  readonly aborted: boolean;
  readonly status: number;
}

/**
 * Copies an upstream response to the client as it arrives, reading token usage on the way:
 * server-sent events event by event, JSON bodies at their end. `secrets` (the upstream key the
 * call was sent with) never reach the client: they are cut out of every header and body, in any
 * spelling a client could decode (see key-redactor.ts). Nothing is held back for the client
 * beyond one incomplete event when events are rewritten, and the bytes of a partial key match;
 * when a key may be cut out, a reply of announced length and an error are sent whole, with the
 * length they have once redacted.
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
  const keys = secrets.length > 0 ? KeyPattern.of(secrets) : undefined;
  const sse = /^text\/event-stream/i.test(String(upstream.headers['content-type'] ?? ''));
  const rewrite = sse && stripUsage;
  const headers = relayedHeaders(upstream.headers, secrets, keys);
  const announced = upstream.headers['content-length'];
  // A body a key may be cut out of changes length. A reply whose length was announced, and an
  // error, are held until their end (they are small, and read whole for usage anyway) and sent
  // with the length they have once redacted; a stream goes out as it comes, without one.
  let holding = keys !== undefined && !sse && (announced !== undefined ? Number(announced) <= maxUsageBody : status >= 400);
  if (rewrite || keys) delete headers['content-length'];
  Object.assign(headers, extraHeaders);
  const redactor = keys ? new KeyRedactor(keys) : undefined;
  const send = (bytes: Buffer | string): void => {
    if (!redactor) {
      res.write(bytes);
      return;
    }
    const out = redactor.push(typeof bytes === 'string' ? Buffer.from(bytes) : bytes);
    if (out.length > 0) res.write(out);
  };
  const held: Buffer[] = [];
  let heldSize = 0;
  if (!holding) {
    res.writeHead(status, headers);
    if (sse) res.flushHeaders();
  }

  let finished = false;
  let tap: StreamTap | undefined;
  let reader: SseReader | undefined;
  const body: Buffer[] = [];
  let bodySize = 0;
  const finish = (aborted: boolean): void => {
    if (finished) return;
    finished = true;
    let reading: UsageReading;
    let response: ResponseNames | undefined;
    if (tap && reader) {
      reader.end();
      reading = tap.reading;
      response = tap.response;
    } else if (bodySize > 0 && bodySize <= maxUsageBody) {
      try {
        const json: unknown = JSON.parse(Buffer.concat(body, bodySize).toString('utf8'));
        reading = adapter.usageFromBody(json);
        response = adapter.responseFromBody?.(json);
      } catch {
        reading = newReading();
      }
    } else reading = newReading();
    done({ reading, response, aborted, status });
  };

  if (sse) {
    const streamTap = adapter.streamTap(stripUsage);
    tap = streamTap;
    // Unless events are re-written, the bytes go on as they came and events are only read.
    reader = new SseReader({
      event: (ev) => {
        const out = streamTap.event(ev.data, ev.name);
        // An event left unfinished at the end is read for usage but never sent.
        if (rewrite && out !== null && !finished) send(writeSseEvent(ev, out));
      },
      other: rewrite ? (text): void => send(text) : undefined,
    });
  }
  upstream.on('data', (chunk: Buffer) => {
    if (reader) {
      if (!rewrite) send(chunk);
      reader.push(chunk);
      return;
    }
    if (bodySize <= maxUsageBody) body.push(chunk);
    bodySize += chunk.length;
    if (!holding) return send(chunk);
    held.push(chunk);
    heldSize += chunk.length;
    if (heldSize > maxUsageBody) {
      // An error body without a length that keeps coming: stream it after all.
      holding = false;
      res.writeHead(status, headers);
      send(Buffer.concat(held, heldSize));
      held.length = 0;
    }
  });
  upstream.once('end', () => {
    if (holding) {
      const out = redactBytes(keys!, Buffer.concat(held, heldSize));
      res.writeHead(status, { ...headers, 'content-length': out.length });
      res.end(out);
    } else {
      const rest = redactor?.end();
      if (rest && rest.length > 0) res.end(rest);
      else res.end();
    }
    finish(false);
  });
  // The upstream broke off mid-response, or the client left and the call was destroyed upstream.
  upstream.once('close', () => {
    if (upstream.complete) return;
    finish(true);
    if (res.destroyed) return;
    if (!res.headersSent) {
      const text = JSON.stringify(adapter.errorBody('upstream', 'the upstream broke off its response'));
      const decision = extraHeaders['x-tollgate-decision'];
      res.writeHead(502, { ...(decision !== undefined ? { 'x-tollgate-decision': decision } : {}), 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    } else if (!res.writableEnded) res.destroy();
  });
  upstream.once('error', () => undefined);
  res.once('close', () => {
    if (!res.writableFinished) finish(true);
  });
}

/**
 * The upstream's end-to-end headers, with every key cut out of the values and every header whose
 * name spells a key dropped (a name cannot carry the replacement). Names arrive lower-cased, so
 * they are matched without regard to case.
 */
function relayedHeaders(upstream: IncomingHttpHeaders, secrets: readonly string[], keys: KeyPattern | undefined): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  const names = keys ? KeyPattern.of(secrets, true) : undefined;
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined || hopByHop.has(name)) continue;
    if (!keys || !names) {
      headers[name] = value;
      continue;
    }
    if (redactHeaderText(names, name) !== undefined) continue;
    headers[name] = Array.isArray(value) ? value.map((v) => redactHeaderText(keys, v) ?? v) : (redactHeaderText(keys, value) ?? value);
  }
  return Object.assign(headers, INERT);
}

/**
 * What every relayed answer says to a browser: a page it renders runs sandboxed (no script, an
 * opaque origin) and its type is never sniffed. The browser dashboard shares the proxy's origin
 * and keeps its token in the tab's session storage; an upstream's page must not run as that origin.
 * API clients ignore both headers.
 */
const INERT: OutgoingHttpHeaders = { 'content-security-policy': 'sandbox', 'x-content-type-options': 'nosniff' };
