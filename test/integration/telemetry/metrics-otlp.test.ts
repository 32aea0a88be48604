import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import OpenAI from 'openai';
import { LoopbackServer } from '../../helpers/loopback-server';
import { MockUpstream } from '../../helpers/mock-upstream';
import { eventually } from '../../helpers/poll';
import { CLI, startServe } from '../../helpers/serve-process';
import type { ServeProcess } from '../../helpers/serve-process';

// The same metrics go out over OTLP/HTTP when the standard OTEL_* variables name an endpoint:
// a small receiver on 127.0.0.1 decodes what arrives (protobuf with the official packages' own
// generated types, or JSON) and finds the call's token usage and decision in it.

// eslint-disable-next-line @typescript-eslint/no-require-imports
const generated = require('@opentelemetry/otlp-transformer/build/src/generated/root') as {
  opentelemetry: { proto: { collector: { metrics: { v1: { ExportMetricsServiceRequest: { decode(b: Uint8Array): unknown; toObject(m: unknown, o: { longs: NumberConstructor }): unknown } } } } } };
};
const ExportRequest = generated.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;

interface OtlpValue { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number }
interface OtlpPoint { attributes?: { key: string; value: OtlpValue }[]; sum?: number; count?: number | string; asDouble?: number; asInt?: number | string }
interface OtlpMetric { name: string; unit?: string; histogram?: { dataPoints: OtlpPoint[] }; sum?: { dataPoints: OtlpPoint[]; isMonotonic?: boolean } }
interface OtlpRequest { resourceMetrics?: { resource?: { attributes?: { key: string; value: OtlpValue }[] }; scopeMetrics?: { scope?: { name?: string }; metrics?: OtlpMetric[] }[] }[] }

/** An OTLP/HTTP metrics receiver: keeps each export request, decoded. */
class OtlpReceiver extends LoopbackServer {
  readonly requests: { contentType: string; body: OtlpRequest }[] = [];

  protected handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const contentType = req.headers['content-type'] ?? '';
      if (req.url === '/v1/metrics') {
        const body = contentType.includes('json') ? (JSON.parse(raw.toString('utf8')) as OtlpRequest) : (ExportRequest.toObject(ExportRequest.decode(raw), { longs: Number }) as OtlpRequest);
        this.requests.push({ contentType, body });
      }
      res.writeHead(200, { 'content-type': contentType.includes('json') ? 'application/json' : 'application/x-protobuf' });
      res.end(contentType.includes('json') ? '{}' : undefined);
    });
  }

  /** Every data point of `name` in the latest request that has it. */
  latest(name: string): { metric: OtlpMetric; points: OtlpPoint[] } | undefined {
    for (let i = this.requests.length - 1; i >= 0; i--) {
      for (const rm of this.requests[i]!.body.resourceMetrics ?? []) {
        for (const sm of rm.scopeMetrics ?? []) {
          const metric = sm.metrics?.find((m) => m.name === name);
          if (metric) return { metric, points: metric.histogram?.dataPoints ?? metric.sum?.dataPoints ?? [] };
        }
      }
    }
    return undefined;
  }
}

function attribute(p: OtlpPoint, key: string): string | undefined {
  const v = p.attributes?.find((a) => a.key === key)?.value;
  return v?.stringValue ?? (v?.intValue !== undefined ? String(v.intValue) : undefined);
}

describe('metrics over OTLP/HTTP', function () {
  this.timeout(60_000);
  let mock: MockUpstream;
  let receiver: OtlpReceiver;
  let dataDir: string;
  let serve: ServeProcess | undefined;

  before(async () => {
    mock = new MockUpstream();
    await mock.start();
  });
  beforeEach(async () => {
    receiver = new OtlpReceiver();
    await receiver.start();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-otlp-metrics-'));
  });
  afterEach(async () => {
    if (serve && serve.child.exitCode === null) {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
    serve = undefined;
    await receiver.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  after(() => mock.stop());

  it('says once that the collector cannot be reached, and keeps serving calls and the Prometheus endpoint', async () => {
    const closed = receiver.url;
    await receiver.stop();
    serve = await startServe(['--data-dir', dataDir, '--upstream', `openai=${mock.url}`], { OTEL_EXPORTER_OTLP_ENDPOINT: closed, OTEL_EXPORTER_OTLP_TIMEOUT: '500', OTEL_METRIC_EXPORT_INTERVAL: '100', OTEL_TRACES_EXPORTER: 'none' });
    const running = serve;
    assert.match(running.stderr(), /metrics: pushed over OTLP \(http\/protobuf\) every 0\.1 s/);
    const token = execFileSync(process.execPath, [CLI, 'token', '--user', 'bob@acme.dev', '--data-dir', dataDir], { encoding: 'utf8' }).trim();
    const openai = new OpenAI({ apiKey: token, baseURL: `${running.url}/openai/v1`, maxRetries: 0 });
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    // The exporter retries within its own timeout (OTEL_EXPORTER_OTLP_TIMEOUT) before it reports.
    await eventually(() => /metrics: OTLP export failed/.test(running.stderr()), 'the export failure in the log', 40_000, 50);
    const metricsToken = fs.readFileSync(path.join(dataDir, 'metrics-token'), 'utf8').trim();
    const text = await (await fetch(`${running.url}/_tollgate/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).text();
    assert.match(text, /^tollgate_decisions_total\{tollgate_outcome="allow"/m);
    assert.equal(running.stderr().match(/OTLP export failed/g)?.length, 1, 'said once, not on every interval');
    await receiver.start();
  });

  for (const protocol of ['http/protobuf', 'http/json'] as const) {
    it(`sends the token usage and the decision to OTEL_EXPORTER_OTLP_ENDPOINT (${protocol})`, async () => {
      serve = await startServe(['--data-dir', dataDir, '--upstream', `openai=${mock.url}`], {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_METRIC_EXPORT_INTERVAL: '200',
        OTEL_SERVICE_NAME: 'tollgate-gateway-test',
        OTEL_TRACES_EXPORTER: 'none',
      });
      const token = execFileSync(process.execPath, [CLI, 'token', '--user', 'bob@acme.dev', '--data-dir', dataDir], { encoding: 'utf8' }).trim();
      const openai = new OpenAI({ apiKey: token, baseURL: `${serve.url}/openai/v1`, maxRetries: 0 });
      const chat = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });

      const usage = await eventually(() => {
        const found = receiver.latest('gen_ai.client.token.usage');
        return found && found.points.length === 2 ? found : undefined;
      }, 'the token usage over OTLP', 20_000, 50);
      assert.match(receiver.requests[0]!.contentType, protocol === 'http/json' ? /application\/json/ : /application\/x-protobuf/);
      assert.equal(usage.metric.unit, '{token}');
      const byType = Object.fromEntries(usage.points.map((p) => [attribute(p, 'gen_ai.token.type'), Number(p.sum)]));
      assert.deepEqual(byType, { input: chat.usage!.prompt_tokens, output: chat.usage!.completion_tokens });
      for (const p of usage.points) {
        assert.equal(attribute(p, 'gen_ai.operation.name'), 'chat');
        assert.equal(attribute(p, 'gen_ai.provider.name'), 'openai');
        assert.equal(attribute(p, 'gen_ai.request.model'), 'gpt-4o-mini');
        assert.equal(attribute(p, 'server.address'), '127.0.0.1');
      }
      const decisions = receiver.latest('tollgate.decisions');
      assert.ok(decisions?.metric.sum?.isMonotonic);
      assert.deepEqual(decisions.points.map((p) => [attribute(p, 'tollgate.outcome'), Number(p.asDouble ?? p.asInt)]), [['allow', 1]]);
      const service = receiver.requests[0]!.body.resourceMetrics?.[0]?.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue;
      assert.equal(service, 'tollgate-gateway-test');
      // Nothing secret travels with the metrics.
      const all = JSON.stringify(receiver.requests);
      for (const secret of [token, fs.readFileSync(path.join(dataDir, 'metrics-token'), 'utf8').trim(), fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim(), 'bob@acme.dev']) assert.ok(!all.includes(secret));
    });
  }
});
