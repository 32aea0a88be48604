import assert from 'node:assert/strict';
import { otlpSettings } from '../../../src/telemetry/otel-env';

describe('OpenTelemetry environment', () => {
  it('exports nothing when no endpoint is set', () => {
    const s = otlpSettings({});
    assert.equal(s.traces, false);
    assert.equal(s.metrics, false);
  });

  it('exports both signals to the base endpoint, protobuf by default, json when asked', () => {
    assert.deepEqual(otlpSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }), {
      traces: true, metrics: true, tracesProtocol: 'http/protobuf', metricsProtocol: 'http/protobuf', metricsIntervalMs: 60_000,
    });
    const json = otlpSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/protobuf', OTEL_METRIC_EXPORT_INTERVAL: '500' });
    assert.equal(json.tracesProtocol, 'http/json');
    assert.equal(json.metricsProtocol, 'http/protobuf');
    assert.equal(json.metricsIntervalMs, 500);
  });

  it('exports one signal given only its own endpoint, and none when the SDK is disabled or the exporter is none', () => {
    const traces = otlpSettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' });
    assert.deepEqual([traces.traces, traces.metrics], [true, false]);
    assert.deepEqual(Object.values(otlpSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_SDK_DISABLED: 'TRUE' })).slice(0, 2), [false, false]);
    const none = otlpSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'console,otlp' });
    assert.deepEqual([none.traces, none.metrics], [false, true]);
  });
});
