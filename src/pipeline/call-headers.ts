import { version } from '../../package.json';
import type { Decision } from '../engine/decision';
import { clientKeyOf } from '../providers/client-key';
import type { TraceHeaders } from './call-events';
import type { DecidedCall, RoutedCall } from './call-context';
import type { CallTransport } from './call-transport';

// What a call reads from its client's headers, and the headers it sends on: upstream, and back to
// the client with an admitted call's answer.

/** Client headers that pass to every provider: trace context and retry identity, never credentials. */
const traceHeaders = ['traceparent', 'tracestate', 'idempotency-key'];

const traceparent = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The caller's identity token, read where the provider's clients put their key (headers or query). */
export function tokenOf(c: RoutedCall): string | undefined {
  const t = c.transport;
  const headers: Record<string, string | undefined> = {};
  for (const p of c.adapter.clientKeys) if ('header' in p) headers[p.header] = t.header(p.header);
  return clientKeyOf(c.adapter.clientKeys, headers, c.route.query);
}

/** The W3C trace id the call belongs to, if it names a valid one. */
export function traceOf(t: CallTransport): string | undefined {
  const m = traceparent.exec((t.header('traceparent') ?? '').trim().toLowerCase());
  return m && m[1] !== '0'.repeat(32) ? m[1] : undefined;
}

/** The classification labels the caller declares. */
export function labelsOf(t: CallTransport): string[] {
  const v = t.header('x-tollgate-classification');
  return v ? v.split(',').map((s) => s.trim()).filter(Boolean) : [];
}

/**
 * The headers a call goes upstream with: exactly these, never the client's own (its identity
 * token among them); the provider's auth with `key`, and only the client headers its style, the
 * bundle and tracing let pass. `trace`, the context of the proxy's own span for the call, takes
 * the place of the client's trace headers (the span is the upstream's parent).
 */
export function upstreamHeaders(c: DecidedCall, key: string | undefined, trace?: TraceHeaders): Record<string, string> {
  const { transport: t, adapter, provider, identity } = c;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: t.header('accept') ?? 'application/json',
    // Usage is read from the response, so it must arrive uncompressed.
    'accept-encoding': 'identity',
    'user-agent': t.header('user-agent') ?? `tollgate/${version}`,
    'x-tollgate-user': identity.user,
    'x-tollgate-agent': identity.agent,
    'x-tollgate-session': identity.session,
    ...(key ? adapter.authHeaders(key) : {}),
  };
  for (const name of [...adapter.clientHeaders, ...provider.forwardHeaders, ...traceHeaders]) {
    const v = t.header(name);
    if (v) headers[name] = v;
  }
  if (trace) {
    delete headers.tracestate;
    headers.traceparent = trace.traceparent;
    if (trace.tracestate) headers.tracestate = trace.tracestate;
  }
  Object.assign(headers, provider.headers);
  return headers;
}

/** What an admitted call's answer says about its decision, besides the upstream's own headers. */
export function allowHeaders(d: Decision, id: string): Record<string, string> {
  const h: Record<string, string> = { 'x-tollgate-decision': id };
  if (d.remaining.requests !== undefined) h['x-tollgate-ratelimit-remaining-requests'] = String(Math.floor(d.remaining.requests));
  if (d.remaining.tokens !== undefined) h['x-tollgate-ratelimit-remaining-tokens'] = String(Math.floor(d.remaining.tokens));
  if (d.remaining.tool_calls !== undefined) h['x-tollgate-ratelimit-remaining-tool-calls'] = String(Math.floor(Math.max(0, d.remaining.tool_calls)));
  if (d.remaining.usd !== undefined) h['x-tollgate-ratelimit-remaining-usd'] = d.remaining.usd.toFixed(6);
  if (d.outcome === 'downgrade') {
    h['x-tollgate-model-served'] = d.modelServed ?? '';
    h['x-tollgate-downgraded-from'] = d.model ?? '';
    h['x-tollgate-rule'] = d.rule ?? '';
  }
  if (d.shadow && d.outcome === 'refuse') {
    h['x-tollgate-shadow-refusal'] = d.rule ?? 'refused';
  }
  return h;
}
