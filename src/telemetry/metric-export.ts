import type { Meter } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import { OTLPMetricExporter as OtlpHttpJsonExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import type { Resource } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { IMetricReader, PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { OtlpSettings } from './otel-env';

// Where the gateway's metrics go: always to the proxy's own Prometheus endpoint, pulled on each
// scrape, and over OTLP/HTTP as well when the standard OTEL_* variables name an endpoint. One
// MeterProvider feeds both, so the two always report the same instruments.

/** The meter's instrumentation scope, and the `service.name` unless OTEL_SERVICE_NAME says otherwise. */
export const METER_NAME = 'tollgate';

/**
 * Series per instrument at most (distinct label sets): a backstop behind the label bounds of
 * metric-labels.ts. Past it the SDK folds new label sets into one `otel_metric_overflow` series.
 */
const CARDINALITY_LIMIT = 2_000;

/** Prometheus's classic text exposition format, the one every Prometheus version reads. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface MetricExportOptions {
  readonly otlp: OtlpSettings;
  readonly version: string;
  /** Where OTEL_SERVICE_NAME is read from (the exporters read the rest of OTEL_* themselves). */
  readonly env: NodeJS.ProcessEnv;
  readonly log: { info(message: string): void; warn(message: string): void };
  /** Say at start how metrics go out over OTLP (once per process, not on each fresh provider). */
  readonly announce?: boolean;
}

/**
 * An OTLP exporter that says when pushing fails: once when it starts failing and once when it
 * recovers, not on every interval, so an unreachable collector is visible without flooding the log.
 */
class ReportingExporter implements PushMetricExporter {
  private failing = false;

  constructor(
    private readonly inner: PushMetricExporter,
    private readonly log: MetricExportOptions['log'],
  ) {
    this.selectAggregationTemporality = inner.selectAggregationTemporality?.bind(inner);
    this.selectAggregation = inner.selectAggregation?.bind(inner);
  }

  readonly selectAggregationTemporality: PushMetricExporter['selectAggregationTemporality'];
  readonly selectAggregation: PushMetricExporter['selectAggregation'];

  export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    this.inner.export(metrics, (result) => {
      if (result.code !== ExportResultCode.SUCCESS && !this.failing) {
        this.failing = true;
        this.log.warn(`metrics: OTLP export failed (${result.error?.message ?? 'no reason given'}); retrying every interval, said again once it works`);
      } else if (result.code === ExportResultCode.SUCCESS && this.failing) {
        this.failing = false;
        this.log.info('metrics: OTLP export works again');
      }
      done(result);
    });
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

function resourceOf(o: MetricExportOptions): Resource {
  const service = o.env.OTEL_SERVICE_NAME?.trim() || METER_NAME;
  // OTEL_RESOURCE_ATTRIBUTES (the team's deployment.environment, host names) joins the service's own.
  const fromEnv = detectResources({ detectors: [envDetector] });
  return resourceFromAttributes({ 'service.version': o.version }).merge(fromEnv).merge(resourceFromAttributes({ 'service.name': service }));
}

/** The MeterProvider and its readers: the Prometheus pull reader, and a periodic OTLP push when configured. */
export class MetricExport {
  private readonly provider: MeterProvider;
  private readonly prometheus: PrometheusExporter;
  private readonly serializer = new PrometheusSerializer();
  private readonly otlpReader?: PeriodicExportingMetricReader;

  constructor(o: MetricExportOptions) {
    // The exporter's own server stays off: the proxy answers GET /_tollgate/metrics on its own port.
    this.prometheus = new PrometheusExporter({ preventServerStart: true });
    const readers: IMetricReader[] = [this.prometheus];
    if (o.otlp.metrics) {
      // Endpoint, headers, timeout, compression and temporality come from the OTEL_* variables,
      // read by the exporter itself as every OpenTelemetry SDK reads them.
      const inner = o.otlp.metricsProtocol === 'http/json' ? new OtlpHttpJsonExporter() : new OtlpProtobufExporter();
      const exporter = new ReportingExporter(inner, o.log);
      this.otlpReader = new PeriodicExportingMetricReader({
        exporter,
        exportIntervalMillis: o.otlp.metricsIntervalMs,
        exportTimeoutMillis: Math.min(30_000, o.otlp.metricsIntervalMs),
      });
      readers.push(this.otlpReader);
      if (o.announce !== false) o.log.info(`metrics: pushed over OTLP (${o.otlp.metricsProtocol}) every ${o.otlp.metricsIntervalMs / 1000} s, as the OTEL_* variables say`);
    }
    this.provider = new MeterProvider({
      resource: resourceOf(o),
      readers,
      views: [{ instrumentName: '*', aggregationCardinalityLimit: CARDINALITY_LIMIT }],
    });
  }

  get otlp(): boolean {
    return this.otlpReader !== undefined;
  }

  meter(version: string): Meter {
    return this.provider.getMeter(METER_NAME, version);
  }

  /** Collects every instrument now (observable gauges read their state) and writes the Prometheus text. */
  async prometheusText(): Promise<{ text: string; errors: readonly unknown[] }> {
    const { resourceMetrics, errors } = await this.prometheus.collect();
    return { text: this.serializer.serialize(resourceMetrics), errors };
  }

  /** Pushes what OTLP has not sent yet (waiting at most `ms` for a collector), then stops both readers. */
  async shutdown(ms = 5_000): Promise<void> {
    await Promise.race([this.provider.shutdown().catch(() => undefined), new Promise((r) => setTimeout(r, ms).unref())]);
  }
}
