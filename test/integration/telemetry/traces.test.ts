import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { version } from '../../../package.json';
import { MockUpstream } from '../../helpers/mock-upstream';
import { OtlpReceiver } from '../../helpers/otlp-receiver';
import type { ReceivedSpan } from '../../helpers/otlp-receiver';
import { policyFrom, referenceText } from '../../helpers/policy';
import { eventually } from '../../helpers/poll';
import { UPSTREAM_KEY } from '../../helpers/proxy';
import { CLI, startServe } from '../../helpers/serve-process';
import type { ServeProcess } from '../../helpers/serve-process';

// `tollgate serve` as a platform team runs it: OTEL_EXPORTER_OTLP_ENDPOINT names a collector (a
// receiver in the test), the official SDKs call through the proxy, and each call's span is
// checked attribute by attribute against the OpenTelemetry GenAI conventions.

const policyText = referenceText.replace('\nprices:\n', '\nprices:\n  gemini-2.5-flash: { input: 0.30, output: 2.50 }\n  gemini-2.5-pro: { input: 1.25, output: 10.00 }\n');
const policyHash = policyFrom(policyText).hash;
const PROMPT = 'a prompt that must never reach a span';
const COLLECTOR_SECRET = 'collector-secret-5d41402abc4b2a76';
const SPAN_CLIENT = 3;
const STATUS_ERROR = 2;

type Provider = 'openai' | 'anthropic' | 'gemini';

/** What a provider's call is, as its span must say. */
const expected: Record<Provider, { operation: string; provider: string; allowed: string; refused: string; responseId: (stream: boolean) => string }> = {
  openai: { operation: 'chat', provider: 'openai', allowed: 'gpt-4o-mini', refused: 'gpt-4o', responseId: (stream) => (stream ? 'c1' : 'chatcmpl-1') },
  anthropic: { operation: 'chat', provider: 'anthropic', allowed: 'claude-haiku-4-5', refused: 'claude-sonnet-4-5', responseId: () => 'msg_1' },
  gemini: { operation: 'generate_content', provider: 'gcp.gemini', allowed: 'gemini-2.5-flash', refused: 'gemini-2.5-pro', responseId: () => 'r1' },
};

function tokenFor(dataDir: string, user: string, agent: string): string {
  return execFileSync(process.execPath, [CLI, 'token', '--user', user, '--agent', agent, '--data-dir', dataDir], { encoding: 'utf8' }).trim();
}

function newTraceparent(): { traceparent: string; traceId: string; spanId: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceparent: `00-${traceId}-${spanId}-01`, traceId, spanId };
}

/** What one call through an SDK gave back: the decision record its answer named, if the SDK shows headers. */
interface CallResult {
  readonly status: number;
  readonly decision?: string;
}

/** One call through the provider's official SDK, with `traceparent` on it when given. */
async function callWithSdk(serve: ServeProcess, token: string, provider: Provider, model: string, stream: boolean, traceparent?: string): Promise<CallResult> {
  const headers = traceparent ? { traceparent } : undefined;
  try {
    if (provider === 'openai') {
      const client = new OpenAI({ apiKey: token, baseURL: `${serve.url}/openai/v1`, maxRetries: 0, defaultHeaders: headers });
      const messages = [{ role: 'user' as const, content: PROMPT }];
      if (stream) {
        const { data, response } = await client.chat.completions.create({ model, messages, stream: true }).withResponse();
        for await (const chunk of data) void chunk;
        return { status: response.status, decision: response.headers.get('x-tollgate-decision') ?? undefined };
      }
      const { response } = await client.chat.completions.create({ model, messages }).withResponse();
      return { status: response.status, decision: response.headers.get('x-tollgate-decision') ?? undefined };
    }
    if (provider === 'anthropic') {
      const client = new Anthropic({ apiKey: token, baseURL: `${serve.url}/anthropic`, maxRetries: 0, defaultHeaders: headers });
      const body = { model, max_tokens: 64, messages: [{ role: 'user' as const, content: PROMPT }] };
      if (stream) {
        const { data, response } = await client.messages.create({ ...body, stream: true }).withResponse();
        for await (const event of data) void event;
        return { status: response.status, decision: response.headers.get('x-tollgate-decision') ?? undefined };
      }
      const { response } = await client.messages.create(body).withResponse();
      return { status: response.status, decision: response.headers.get('x-tollgate-decision') ?? undefined };
    }
    const ai = new GoogleGenAI({ apiKey: token, httpOptions: { baseUrl: `${serve.url}/gemini`, headers } });
    if (stream) {
      for await (const chunk of await ai.models.generateContentStream({ model, contents: PROMPT })) void chunk;
      return { status: 200 };
    }
    const reply = await ai.models.generateContent({ model, contents: PROMPT });
    return { status: 200, decision: reply.sdkHttpResponse?.headers?.['x-tollgate-decision'] };
  } catch (err) {
    const e = err as { status?: number; headers?: Headers | Record<string, string> };
    if (typeof e.status !== 'number') throw err;
    const h = e.headers;
    const decision = h instanceof Headers ? h.get('x-tollgate-decision') : h?.['x-tollgate-decision'];
    return { status: e.status, decision: decision ?? undefined };
  }
}

function attributeText(span: ReceivedSpan): string {
  return JSON.stringify({ name: span.name, status: span.status, attributes: span.attributes });
}

for (const protocol of ['http/protobuf', 'http/json'] as const) {
  describe(`traces over OTLP/HTTP (${protocol}), from tollgate serve`, function () {
    this.timeout(60_000);
    let mock: MockUpstream;
    let receiver: OtlpReceiver;
    let serve: ServeProcess;
    let dataDir: string;
    let token: string;
    let upstreamPort: number;

    before(async () => {
      mock = new MockUpstream();
      receiver = new OtlpReceiver();
      const upstream = await mock.start();
      upstreamPort = Number(new URL(upstream).port);
      const collector = await receiver.start();
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-traces-'));
      const policy = path.join(dataDir, 'tollgate.yaml');
      fs.writeFileSync(policy, policyText);
      const env: NodeJS.ProcessEnv = {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${COLLECTOR_SECRET}`,
        OTEL_BSP_SCHEDULE_DELAY: '50',
        OTEL_SDK_DISABLED: undefined, OTEL_TRACES_EXPORTER: undefined, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined,
        // The JSON run also names the service as a deployment would.
        OTEL_SERVICE_NAME: protocol === 'http/json' ? 'gateway-eu' : undefined,
        OTEL_RESOURCE_ATTRIBUTES: protocol === 'http/json' ? 'deployment.environment.name=test' : undefined,
      };
      serve = await startServe(['--data-dir', dataDir, '--policy', policy, '--upstream', `openai=${upstream}`, '--upstream', `anthropic=${upstream}`, '--upstream', `gemini=${upstream}`], env);
      // Dev has the default entitlements: the small models, not gpt-4o, claude-sonnet or gemini pro.
      token = tokenFor(dataDir, 'dev@acme.dev', 'notebook');
    });
    after(async () => {
      serve.child.kill('SIGTERM');
      await serve.exited;
      await mock.stop();
      await receiver.stop();
    });

    async function spanOf(traceId: string): Promise<ReceivedSpan> {
      const [span] = await eventually(() => receiver.inTrace(traceId).length > 0 && receiver.inTrace(traceId), `the span of trace ${traceId}`, 10_000);
      assert.equal(receiver.inTrace(traceId).length, 1, 'one span per call');
      return span!;
    }

    function checkCommon(span: ReceivedSpan, provider: Provider, model: string, stream: boolean, parent: { traceId: string; spanId: string }): void {
      const e = expected[provider];
      const a = span.attributes;
      assert.equal(span.name, `${e.operation} ${model}`);
      assert.equal(span.kind, SPAN_CLIENT);
      assert.equal(span.traceId, parent.traceId, 'the span is in the caller\'s trace');
      assert.equal(span.parentSpanId, parent.spanId, "the span is a child of the caller's span");
      assert.equal(a['gen_ai.operation.name'], e.operation);
      assert.equal(a['gen_ai.provider.name'], e.provider);
      assert.equal(a['gen_ai.request.model'], model);
      assert.equal(a['gen_ai.request.stream'], stream);
      assert.equal(a['server.address'], '127.0.0.1');
      assert.equal(a['server.port'], upstreamPort);
      assert.equal(a['tollgate.policy.name'], 'acme-ai-gateway');
      assert.equal(a['tollgate.policy.hash'], policyHash);
      assert.match(String(a['tollgate.user.pseudonym']), /^tg-[0-9a-f]{32}$/, 'the person is named by a pseudonym');
      assert.equal(a['tollgate.user.address'], undefined);
      assert.equal(a['tollgate.agent.name'], 'notebook');
      assert.match(String(a['tollgate.decision.id']), /^[0-9A-Z]{26}$/);
      assert.equal(span.resource['service.name'], protocol === 'http/json' ? 'gateway-eu' : 'tollgate');
      assert.equal(span.resource['service.version'], version);
      if (protocol === 'http/json') assert.equal(span.resource['deployment.environment.name'], 'test');
      assert.equal(span.scope, 'tollgate');
      const text = attributeText(span);
      for (const secret of [UPSTREAM_KEY, token, PROMPT, COLLECTOR_SECRET, 'dev@acme.dev']) assert.ok(!text.includes(secret), `the span carries ${secret.slice(0, 12)}...`);
    }

    for (const provider of ['openai', 'anthropic', 'gemini'] as const) {
      for (const stream of [false, true]) {
        const how = stream ? 'streamed' : 'not streamed';

        it(`${provider}, ${how}, allowed: a CLIENT span with the response's model, id and usage, parent of the upstream request`, async () => {
          const parent = newTraceparent();
          const model = expected[provider].allowed;
          const result = await callWithSdk(serve, token, provider, model, stream, parent.traceparent);
          assert.equal(result.status, 200);
          const span = await spanOf(parent.traceId);
          checkCommon(span, provider, model, stream, parent);
          const a = span.attributes;
          assert.equal(span.status.code, 0, 'an allowed call leaves the status unset');
          assert.equal(a['error.type'], undefined);
          assert.equal(a['tollgate.decision.outcome'], 'allow');
          if (result.decision) assert.equal(a['tollgate.decision.id'], result.decision, 'the span names the record the answer named');
          assert.equal(a['gen_ai.response.id'], expected[provider].responseId(stream));
          assert.equal(a['gen_ai.response.model'], model);
          assert.equal(a['gen_ai.usage.input_tokens'], mock.inputTokens);
          assert.equal(a['gen_ai.usage.output_tokens'], stream ? 3 : mock.outputTokens);
          assert.equal(a['tollgate.usage.known'], true);
          assert.ok(typeof a['tollgate.cost.usd'] === 'number' && a['tollgate.cost.usd'] > 0, 'what the call cost');
          const seen = mock.seen.find((r) => String(r.headers.traceparent ?? '').includes(parent.traceId));
          assert.ok(seen, 'the upstream request carries the trace');
          assert.equal(seen.headers.traceparent, `00-${parent.traceId}-${span.spanId}-01`, "the upstream's parent is the proxy's span, not the caller's");
        });

        it(`${provider}, ${how}, refused by entitlement: a span with status ERROR and error.type, nothing upstream`, async () => {
          const parent = newTraceparent();
          const model = expected[provider].refused;
          const before = mock.seen.length;
          const result = await callWithSdk(serve, token, provider, model, stream, parent.traceparent);
          assert.equal(result.status, 403);
          const span = await spanOf(parent.traceId);
          checkCommon(span, provider, model, stream, parent);
          const a = span.attributes;
          assert.equal(span.status.code, STATUS_ERROR);
          assert.equal(a['error.type'], 'entitlement');
          assert.equal(a['tollgate.decision.outcome'], 'refuse');
          assert.ok(a['tollgate.decision.rule'], 'the rule that refused');
          if (result.decision) assert.equal(a['tollgate.decision.id'], result.decision);
          assert.equal(a['tollgate.cost.usd'], 0);
          assert.equal(a['gen_ai.usage.input_tokens'], undefined);
          assert.equal(a['gen_ai.response.id'], undefined);
          assert.equal(mock.seen.length, before, 'nothing went upstream');
        });
      }
    }

    it('reports cache reads and writes as the conventions name them (Anthropic)', async () => {
      mock.billed = { cacheRead: 4, cacheWrite: 2 };
      const parent = newTraceparent();
      try {
        assert.equal((await callWithSdk(serve, token, 'anthropic', 'claude-haiku-4-5', false, parent.traceparent)).status, 200);
      } finally {
        mock.billed = {};
      }
      const a = (await spanOf(parent.traceId)).attributes;
      assert.equal(a['gen_ai.usage.input_tokens'], mock.inputTokens, 'all input, cached included');
      assert.equal(a['gen_ai.usage.cache_read.input_tokens'], 4);
      assert.equal(a['gen_ai.usage.cache_creation.input_tokens'], 2);
    });

    it('starts a trace for a call that brings none, and the upstream request carries it', async () => {
      const before = new Set(receiver.spans.map((s) => s.spanId));
      assert.equal((await callWithSdk(serve, token, 'openai', 'gpt-4o-mini', false)).status, 200);
      const seen = mock.last();
      const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(seen.headers.traceparent ?? ''));
      assert.ok(m, `the upstream request carries a traceparent: ${String(seen.headers.traceparent)}`);
      const span = await spanOf(m[1]!);
      assert.ok(!before.has(span.spanId));
      assert.equal(span.spanId, m[2]);
      assert.equal(span.parentSpanId, '', 'a root span');
      assert.equal(span.attributes['gen_ai.response.id'], 'chatcmpl-1');
    });

    it('sends the collector the OTEL_EXPORTER_OTLP_HEADERS, in the encoding asked for', () => {
      assert.ok(receiver.exports.length > 0);
      for (const e of receiver.exports) {
        assert.equal(e.path, '/v1/traces');
        assert.equal(e.headers.authorization, `Bearer ${COLLECTOR_SECRET}`);
        assert.equal(e.contentType, protocol === 'http/json' ? 'application/json' : 'application/x-protobuf');
      }
      assert.deepEqual(receiver.problems, []);
      assert.ok(!serve.stderr().includes(COLLECTOR_SECRET));
    });
  });
}

describe('traces off, disabled, and flushed on stop', function () {
  this.timeout(60_000);
  let mock: MockUpstream;
  let receiver: OtlpReceiver;
  let upstream: string;

  before(async () => {
    mock = new MockUpstream();
    receiver = new OtlpReceiver();
    upstream = await mock.start();
    await receiver.start();
  });
  after(async () => {
    await mock.stop();
    await receiver.stop();
  });

  const unset: NodeJS.ProcessEnv = {
    OTEL_EXPORTER_OTLP_ENDPOINT: undefined, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined, OTEL_SDK_DISABLED: undefined, OTEL_TRACES_EXPORTER: undefined, OTEL_EXPORTER_OTLP_PROTOCOL: undefined,
  };

  async function oneCall(env: NodeJS.ProcessEnv): Promise<{ serve: ServeProcess; sent: string }> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-traces-off-'));
    const serve = await startServe(['--data-dir', dataDir, '--upstream', `openai=${upstream}`], { ...unset, OTEL_BSP_SCHEDULE_DELAY: '50', ...env });
    const parent = newTraceparent();
    const result = await callWithSdk(serve, tokenFor(dataDir, 'dev@acme.dev', 'notebook'), 'openai', 'gpt-4o-mini', false, parent.traceparent);
    assert.equal(result.status, 200);
    serve.child.kill('SIGTERM');
    assert.equal(await serve.exited, 0, serve.stderr());
    return { serve, sent: parent.traceparent };
  }

  it("exports nothing without an OTEL endpoint, and passes the client's traceparent as it came", async () => {
    const { sent } = await oneCall({});
    assert.equal(mock.last().headers.traceparent, sent);
    assert.equal(receiver.exports.length, 0);
  });

  it('exports nothing when OTEL_SDK_DISABLED is true, even with an endpoint named', async () => {
    const { sent, serve } = await oneCall({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SDK_DISABLED: 'true' });
    assert.equal(mock.last().headers.traceparent, sent);
    assert.equal(receiver.exports.length, 0, 'the proxy stopped, so anything batched would have been sent');
    assert.ok(!/opentelemetry/i.test(serve.stderr()));
  });

  it('sends the spans still batched when the proxy stops (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, as given)', async () => {
    const { sent } = await oneCall({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`, OTEL_BSP_SCHEDULE_DELAY: '600000' });
    const traceId = sent.split('-')[1]!;
    // The batch would wait ten minutes: the span is here because stopping flushed it.
    assert.equal(receiver.inTrace(traceId).length, 1);
    assert.notEqual(mock.last().headers.traceparent, sent);
  });
});
