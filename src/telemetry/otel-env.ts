// Whether traces and metrics go out over OTLP, read from the standard OpenTelemetry variables the
// way every SDK reads them, so a platform team's existing collector settings just work. Nothing is
// exported unless an endpoint is set: a developer's local proxy sends nothing anywhere by default.

/** Which signals to export, and in which OTLP/HTTP encoding. */
export interface OtlpSettings {
  readonly traces: boolean;
  readonly metrics: boolean;
  /** OTEL_EXPORTER_OTLP_{TRACES_,METRICS_,}PROTOCOL; the specification's default is protobuf. */
  readonly tracesProtocol: OtlpProtocol;
  readonly metricsProtocol: OtlpProtocol;
  /** OTEL_METRIC_EXPORT_INTERVAL, in ms (the specification's default: 60 s). */
  readonly metricsIntervalMs: number;
}

export type OtlpProtocol = 'http/protobuf' | 'http/json';

const truthy = (v: string | undefined): boolean => (v ?? '').trim().toLowerCase() === 'true';
const set = (v: string | undefined): boolean => (v ?? '').trim() !== '';

function protocolOf(value: string | undefined): OtlpProtocol {
  return (value ?? '').trim().toLowerCase() === 'http/json' ? 'http/json' : 'http/protobuf';
}

/** Whether `OTEL_{signal}_EXPORTER` leaves OTLP on: unset or naming `otlp` among its exporters. */
function exporterIsOtlp(value: string | undefined): boolean {
  if (!set(value)) return true;
  return value!.split(',').map((v) => v.trim().toLowerCase()).includes('otlp');
}

/**
 * Reads the OpenTelemetry environment: OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER,
 * OTEL_METRICS_EXPORTER, OTEL_EXPORTER_OTLP_ENDPOINT and the per-signal endpoints and protocols.
 * The exporters themselves read the endpoint, headers, timeout and compression variables.
 */
export function otlpSettings(env: NodeJS.ProcessEnv): OtlpSettings {
  const disabled = truthy(env.OTEL_SDK_DISABLED);
  const base = set(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const interval = Number(env.OTEL_METRIC_EXPORT_INTERVAL);
  return {
    traces: !disabled && exporterIsOtlp(env.OTEL_TRACES_EXPORTER) && (base || set(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)),
    metrics: !disabled && exporterIsOtlp(env.OTEL_METRICS_EXPORTER) && (base || set(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT)),
    tracesProtocol: protocolOf(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL),
    metricsProtocol: protocolOf(env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL),
    metricsIntervalMs: Number.isFinite(interval) && interval > 0 ? interval : 60_000,
  };
}
