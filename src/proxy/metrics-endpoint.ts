import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ADMIN_PREFIX } from '../contracts/admin';
import type { AccumulatorView } from '../contracts/admin';
import type { Engine } from '../engine/decide';
import type { Policy } from '../engine/policy/model';
import type { AccumulatorStore } from '../engine/store';
import type { CallEvents } from '../pipeline/call-events';
import { MetricExport, PROMETHEUS_CONTENT_TYPE } from '../telemetry/metric-export';
import { GatewayMetrics } from '../telemetry/metrics';
import { otlpSettings } from '../telemetry/otel-env';
import type { AccumulatorReadModel } from '../views/accumulator-read-model';
import type { PolicyContext } from './context';
import type { Logger } from './log';
import type { Pseudonyms } from './pseudonym';

/** GET /_tollgate/metrics: Prometheus's scrape path, inside the admin prefix but with a token of its own. */
export const METRICS_PATH = `${ADMIN_PREFIX}/metrics`;
/** The metrics endpoint's bearer token, in the data dir next to the admin token (mode 0600). */
export const METRICS_TOKEN_FILE = 'metrics-token';

export interface MetricsSource {
  /** `token` (the bundle's default) or `none`, as the bundle in force says now. */
  auth(): 'token' | 'none';
  /** The whole exposition, collected now. */
  text(): Promise<{ text: string; errors: readonly unknown[] }>;
  /** A collection that failed in part (a store that did not answer): logged, never shown to the scraper. */
  onErrors(errors: readonly unknown[]): void;
}

function refuse(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const text = `${message}\n`;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/**
 * The Prometheus endpoint, on the proxy's own port. Its token is not the admin token and the admin
 * API never takes it: whoever can scrape the metrics (a monitoring stack holding the file) can
 * read counts and fills, never the ledger's decisions or the policy's details.
 */
export class MetricsEndpoint {
  private readonly token: Buffer;

  constructor(
    token: string,
    private readonly source: MetricsSource,
  ) {
    this.token = Buffer.from(token);
  }

  static handles(url: string | undefined): boolean {
    return url === METRICS_PATH || (url?.startsWith(`${METRICS_PATH}?`) ?? false);
  }

  private authorized(req: IncomingMessage): boolean {
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const given = Buffer.from(m[1]!.trim());
    return given.length === this.token.length && timingSafeEqual(given, this.token);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.source.auth() === 'token' && !this.authorized(req)) {
      return refuse(res, 401, `the metrics endpoint needs Authorization: Bearer <the data dir's ${METRICS_TOKEN_FILE} file>`, { 'www-authenticate': 'Bearer realm="tollgate-metrics"' });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'the metrics endpoint takes GET', { allow: 'GET, HEAD' });
    const { text, errors } = await this.source.text();
    if (errors.length > 0) this.source.onErrors(errors);
    res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : text);
  }
}

/**
 * The accumulators of the exported rules with what they hold now. Only those rules' accumulators
 * are read from the store: the views' read model may list thousands, a scrape needs a few.
 */
export function exportedAccumulators(
  views: AccumulatorReadModel,
  engine: Pick<Engine, 'policy' | 'accumulatorFor'>,
  store: Pick<AccumulatorStore, 'peek'>,
  rules: ReadonlySet<string>,
  now: number,
): Promise<AccumulatorView[]> {
  const exportedOnly = { policy: engine.policy, accumulatorFor: (rule: string) => (rules.has(rule) ? engine.accumulatorFor(rule) : undefined) };
  return views.view(exportedOnly, store, now);
}

/** What a proxy's metrics are built from. */
export interface ProxyMetricsParts {
  readonly token: string;
  readonly version: string;
  readonly env: NodeJS.ProcessEnv;
  readonly log: Logger;
  /** The bundle the proxy starts with, in force until `context` has one. */
  readonly policy: Policy;
  /** The bundle in force and its engine, as they are now (a reload changes them); none while the proxy is built. */
  readonly context: () => PolicyContext | undefined;
  readonly store: Pick<AccumulatorStore, 'peek'>;
  readonly views: AccumulatorReadModel;
  readonly pseudonyms: Pseudonyms;
  readonly upstreamOverrides: ReadonlyMap<string, string>;
  readonly clock: () => number;
}

/**
 * A proxy's metrics: the instruments following its call events, exported over OTLP when the
 * environment says so, and served on GET /_tollgate/metrics.
 */
export class ProxyMetrics {
  private export?: MetricExport;
  private readonly gateway: GatewayMetrics;
  private readonly endpoint: MetricsEndpoint;

  constructor(events: CallEvents, p: ProxyMetricsParts) {
    const otlp = otlpSettings(p.env);
    const policy = (): Policy => p.context()?.policy ?? p.policy;
    this.gateway = new GatewayMetrics({
      // A reload that changes person labelling starts a fresh provider; the old one pushes what
      // OTLP has not sent yet and stops, taking its series with it.
      freshMeter: () => {
        const previous = this.export;
        this.export = new MetricExport({ otlp, version: p.version, env: p.env, log: p.log, announce: previous === undefined });
        void previous?.shutdown();
        return this.export.meter(p.version);
      },
      policy,
      pseudonymOf: (user) => p.pseudonyms.of(user),
      upstreamOf: (provider) => p.upstreamOverrides.get(provider.name) ?? provider.upstream,
      accumulators: async (rules) => {
        const engine = p.context()?.engine;
        return engine ? exportedAccumulators(p.views, engine, p.store, rules, p.clock()) : [];
      },
      clock: p.clock,
    });
    this.gateway.subscribe(events);
    this.endpoint = new MetricsEndpoint(p.token, {
      auth: () => policy().telemetry?.metricsAuth ?? 'token',
      text: () => {
        this.gateway.current();
        return this.export!.prometheusText();
      },
      onErrors: (errors) => p.log.warn(`metrics: ${errors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ')}`),
    });
  }

  static handles(url: string | undefined): boolean {
    return MetricsEndpoint.handles(url);
  }

  handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    return this.endpoint.handle(req, res);
  }

  /** Pushes what OTLP has not sent yet, then stops. */
  shutdown(): Promise<void> {
    return this.export?.shutdown() ?? Promise.resolve();
  }
}
