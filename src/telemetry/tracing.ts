import { defaultTextMapGetter, defaultTextMapSetter, diag, DiagLogLevel, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { DiagLogger, Span, Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { version } from '../../package.json';
import type { DecidedCall } from '../pipeline/call-context';
import type { CallEvents, TraceHeaders } from '../pipeline/call-events';
import { refusedEnd, releasedEnd, settledEnd, spanStartOf, Tollgate, upstreamAddressOf } from './genai-span-attributes';
import type { SpanEnd, UpstreamAddress } from './genai-span-attributes';
import { otlpSettings } from './otel-env';

// One span per model call, exported over OTLP/HTTP. This module is loaded only when the
// environment asks for traces (the proxy imports it on demand), so a proxy without an OTLP
// endpoint creates no SDK object and pays nothing per call.

/** What the tracer needs from the proxy around it. */
export interface TracerParts {
  /** Upstream base URLs by provider name, in place of the bundle's (for `server.address`). */
  readonly upstreamOverrides: ReadonlyMap<string, string>;
  /** The person's keyed pseudonym, the one the provider's end-user field carries. */
  readonly pseudonymOf: (user: string) => string;
  /** The pipeline's clock: a span ends at the time its call's events say. */
  readonly clock: () => number;
}

/** Where the tracer reports the SDK's own trouble (an unreachable collector), and hides secrets from. */
export interface TracerLog {
  warn(message: string): void;
  addSecret(secret: string | undefined): void;
}

/** The SDK objects a tracer stops with the proxy. */
interface TracerLifetime {
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Follows the pipeline's call events and turns each decided model call into one CLIENT span: a
 * child of the caller's `traceparent` when one came, and the parent of the upstream request,
 * which carries the span's context in place of the client's. Refused calls get a span too, with
 * status ERROR and their `error.type`.
 */
export class CallTracer {
  private readonly spans = new WeakMap<DecidedCall, Span>();
  private readonly propagator = new W3CTraceContextPropagator();
  private readonly addresses = new Map<string, UpstreamAddress | undefined>();

  constructor(
    private readonly tracer: Tracer,
    private readonly lifetime: TracerLifetime,
    private readonly o: TracerParts,
  ) {}

  /**
   * A tracer exporting over OTLP/HTTP as the standard OTEL_* variables say (the exporter reads
   * the endpoint, headers, timeout and compression; the batch processor its OTEL_BSP_* settings;
   * the provider OTEL_TRACES_SAMPLER), with `service.name` tollgate unless OTEL_SERVICE_NAME or
   * OTEL_RESOURCE_ATTRIBUTES name another.
   */
  static fromEnvironment(env: NodeJS.ProcessEnv, parts: TracerParts, log: TracerLog): CallTracer {
    // The collector's credentials travel in these headers: never in a log line.
    for (const name of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS']) for (const v of headerValues(env[name])) log.addSecret(v);
    diag.setLogger(new ThrottledDiagLog(log, parts.clock), { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
    const exporter = otlpSettings(env).tracesProtocol === 'http/json' ? new OtlpJsonTraceExporter() : new OtlpProtoTraceExporter();
    return CallTracer.withProcessor(new BatchSpanProcessor(exporter), parts);
  }

  /** A tracer whose spans go to `processor` (tests give an in-memory one). */
  static withProcessor(processor: SpanProcessor, parts: TracerParts): CallTracer {
    const resource = defaultResource()
      .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'tollgate', [ATTR_SERVICE_VERSION]: version }))
      .merge(detectResources({ detectors: [envDetector] }));
    const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
    return new CallTracer(provider.getTracer('tollgate', version), provider, parts);
  }

  /** Subscribe after the ledger's recorder: a span names the record the recorder appended. */
  subscribe(events: CallEvents): void {
    events.on('decided', (e) => this.start(e.call));
    events.on('forwarded', (e) => {
      const span = this.spans.get(e.call);
      if (!span) return;
      const id = e.recordId();
      if (id) span.setAttribute(Tollgate.decisionId, id);
      const context = this.contextOf(span);
      if (context) e.tracedAs(context);
    });
    events.on('refused', (e) => this.end(e.call, refusedEnd(e.call, e.recordId())));
    events.on('released', (e) => this.end(e.call, releasedEnd(e.recordId())));
    events.on('settled', (e) => this.end(e.call, settledEnd(e.settlement, e.status, e.aborted, e.response)));
  }

  /** Sends the spans still waiting in the batch. */
  flush(): Promise<void> {
    return this.lifetime.forceFlush();
  }

  /** Sends what is waiting and stops exporting (the proxy is stopping). */
  shutdown(): Promise<void> {
    return this.lifetime.shutdown();
  }

  private start(c: DecidedCall): void {
    const start = spanStartOf(c, this.upstreamOf(c), this.o.pseudonymOf);
    if (!start) return;
    const parent = this.propagator.extract(ROOT_CONTEXT, { traceparent: c.transport.header('traceparent'), tracestate: c.transport.header('tracestate') }, defaultTextMapGetter);
    const span = this.tracer.startSpan(start.name, { kind: SpanKind.CLIENT, startTime: c.started, attributes: start.attributes }, parent);
    this.spans.set(c, span);
  }

  private end(c: DecidedCall, end: SpanEnd): void {
    const span = this.spans.get(c);
    if (!span) return;
    this.spans.delete(c);
    span.setAttributes(end.attributes);
    if (end.errorType) span.setStatus({ code: SpanStatusCode.ERROR, message: end.errorType });
    span.end(this.o.clock());
  }

  /** The span's W3C trace context, as the upstream request carries it. */
  private contextOf(span: Span): TraceHeaders | undefined {
    const carrier: Record<string, string> = {};
    this.propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
    return carrier.traceparent ? { traceparent: carrier.traceparent, tracestate: carrier.tracestate } : undefined;
  }

  private upstreamOf(c: DecidedCall): UpstreamAddress | undefined {
    const base = this.o.upstreamOverrides.get(c.provider.name) ?? c.provider.upstream;
    if (!this.addresses.has(base)) this.addresses.set(base, upstreamAddressOf(base));
    return this.addresses.get(base);
  }
}

/** The values of an OTEL_EXPORTER_OTLP_*HEADERS list (`name=value,name=value`, values URL-encoded). */
function headerValues(list: string | undefined): string[] {
  const values: string[] = [];
  for (const pair of (list ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at < 0) continue;
    const raw = pair.slice(at + 1).trim();
    if (!raw) continue;
    values.push(raw);
    try {
      values.push(decodeURIComponent(raw));
    } catch {
      // A value that is not valid percent-encoding is hidden as written.
    }
  }
  return values;
}

/**
 * The SDK's warnings and errors (a collector that refuses or cannot be reached) in the proxy's
 * log, at most one a minute: an export failing every few seconds must not flood it.
 */
class ThrottledDiagLog implements DiagLogger {
  private lastAt = -Infinity;
  private skipped = 0;

  constructor(
    private readonly log: TracerLog,
    private readonly clock: () => number,
  ) {}

  error(message: string, ...args: unknown[]): void {
    this.say(message, args);
  }
  warn(message: string, ...args: unknown[]): void {
    this.say(message, args);
  }
  info(): void {}
  debug(): void {}
  verbose(): void {}

  private say(message: string, args: unknown[]): void {
    const now = this.clock();
    if (now - this.lastAt < 60_000) {
      this.skipped++;
      return;
    }
    this.lastAt = now;
    const more = this.skipped > 0 ? ` (${this.skipped} similar messages skipped)` : '';
    this.skipped = 0;
    const detail = args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : '')).filter(Boolean).join(' ');
    this.log.warn(`opentelemetry: ${message}${detail ? ` ${detail}` : ''}${more}`);
  }
}
