import assert from 'node:assert/strict';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Identity } from '../../../src/engine/identity/identity';
import type { CallEventMap, CallEventName, Recording } from '../../../src/pipeline/call-events';
import { CallEvents } from '../../../src/pipeline/call-events';
import type { CallPolicy } from '../../../src/pipeline/call-context';
import type { RelayOutcome } from '../../../src/pipeline/call-transport';
import { CallPipeline } from '../../../src/pipeline/pipeline';
import { describeRequest } from '../../../src/proxy/describe/describe';
import { identityAttributes, upstreamAddressOf } from '../../../src/telemetry/genai-span-attributes';
import { CallTracer } from '../../../src/telemetry/tracing';
import { engineFor } from '../../helpers/engine';
import type { UpstreamBehaviour } from '../../helpers/fake-call';
import { FakeCall } from '../../helpers/fake-call';
import { policyFrom, referenceText } from '../../helpers/policy';

const KEY = ['sk', 'unit', 'upstream', 'key0123456789'].join('-');
const TOKEN = 'a-session-token-never-traced';
const PROMPT = 'a prompt no span may carry';
const bob: Identity = { user: 'bob@acme.dev', agent: 'notebook', session: 's-1', roles: ['ml-engineers'], issuer: 'tollgate' };
const dev: Identity = { user: 'dev@acme.dev', agent: 'cli', session: 's-2', roles: [], issuer: 'tollgate' };
const PARENT_TRACE = '0af7651916cd43dd8448eb211c80319c';
const PARENT_SPAN = 'b7ad6b7169203331';

interface Harness {
  readonly pipeline: CallPipeline;
  readonly rules: CallPolicy;
  readonly exporter: InMemorySpanExporter;
  readonly events: CallEvents;
}

/** A pipeline with a fake ledger (ids rec-1, rec-2, ...) and a tracer after it, its spans kept in memory. */
function harness(identity: Identity, policyText = referenceText, traced = true): Harness {
  const { engine, policy } = engineFor(policyFrom(policyText));
  const events = new CallEvents((err) => assert.fail(err));
  let n = 0;
  const recording = (): Recording => ({ ok: true, id: `rec-${++n}`, durable: Promise.resolve(true) });
  for (const name of ['failed', 'refused', 'released', 'forwarded'] as CallEventName[]) {
    events.on(name, (e: CallEventMap[typeof name]) => {
      if ('recordedAs' in e) e.recordedAs(recording());
    });
  }
  const exporter = new InMemorySpanExporter();
  let clock = Date.parse('2026-11-23T12:00:00Z');
  const tick = (): number => (clock += 10);
  if (traced) CallTracer.withProcessor(new SimpleSpanProcessor(exporter), { upstreamOverrides: new Map(), pseudonymOf: (u) => `pseudonym-of-${u}`, clock: tick }).subscribe(events);
  const pipeline = new CallPipeline({
    events, describe: describeRequest, ledgerHealth: () => ({ ok: true }), isLocalHold: () => false,
    env: { OPENAI_API_KEY: KEY, ANTHROPIC_API_KEY: KEY, GEMINI_API_KEY: KEY },
    upstreamOverrides: new Map(), shadow: false, pseudonymOf: (u) => `pseudonym-of-${u}`, clock: tick, log: { warn: () => undefined, error: () => undefined },
  });
  return { pipeline, rules: { policy, engine, verifier: { verify: () => Promise.resolve(identity) } }, exporter, events };
}

/** An upstream answering with `outcome` as the relay would have read it. */
function replying(outcome: RelayOutcome): UpstreamBehaviour {
  return (_request, handlers, call) =>
    queueMicrotask(() =>
      handlers.onResponse({
        relay: (order) => {
          call.relayed = order;
          return Promise.resolve(outcome);
        },
        abort: () => (call.aborted = true),
      }),
    );
}

const chatRoute = { provider: 'openai', path: '/v1/chat/completions', query: '' };
const chat = (model: string, extra: Record<string, unknown> = {}): unknown => ({ model, messages: [{ role: 'user', content: PROMPT }], max_tokens: 100, ...extra });

function only(h: Harness): ReadableSpan {
  const spans = h.exporter.getFinishedSpans();
  assert.equal(spans.length, 1, `one span per call, not ${spans.length}`);
  return spans[0]!;
}

function noSecrets(span: ReadableSpan): void {
  const text = JSON.stringify({ name: span.name, attributes: span.attributes, status: span.status, events: span.events });
  for (const secret of [KEY, TOKEN, PROMPT]) assert.ok(!text.includes(secret), `the span carries ${secret}`);
}

describe('traces: one GenAI span per model call', () => {
  it('names an allowed chat call as the conventions do and carries its usage, response and decision', async () => {
    const h = harness(bob);
    const usage = { input: 2_000, output: 300, cacheRead: 1_536, reasoning: 256, outputText: '' };
    const call = new FakeCall(chat('gpt-4o-mini'), replying({ reading: usage, response: { id: 'chatcmpl-9', model: 'gpt-4o-mini-2024-07-18' }, aborted: false, status: 200 }), { authorization: `Bearer ${TOKEN}` });
    await h.pipeline.run(call, chatRoute, h.rules);

    const span = only(h);
    assert.equal(span.name, 'chat gpt-4o-mini');
    assert.equal(span.kind, SpanKind.CLIENT);
    assert.equal(span.status.code, SpanStatusCode.UNSET);
    const a = span.attributes;
    assert.equal(a['gen_ai.operation.name'], 'chat');
    assert.equal(a['gen_ai.provider.name'], 'openai');
    assert.equal(a['gen_ai.request.model'], 'gpt-4o-mini');
    assert.equal(a['gen_ai.request.stream'], false);
    assert.equal(a['gen_ai.response.model'], 'gpt-4o-mini-2024-07-18');
    assert.equal(a['gen_ai.response.id'], 'chatcmpl-9');
    assert.equal(a['gen_ai.usage.input_tokens'], 2_000, 'all input, cached included');
    assert.equal(a['gen_ai.usage.output_tokens'], 300);
    assert.equal(a['gen_ai.usage.cache_read.input_tokens'], 1_536);
    assert.equal(a['gen_ai.usage.reasoning.output_tokens'], 256);
    assert.equal(a['gen_ai.usage.cache_creation.input_tokens'], undefined, 'a part the provider did not report is absent, not zero');
    assert.equal(a['server.address'], 'api.openai.com');
    assert.equal(a['server.port'], 443);
    assert.equal(a['error.type'], undefined);
    assert.equal(a['tollgate.decision.id'], 'rec-1');
    assert.equal(a['tollgate.decision.outcome'], 'allow');
    assert.equal(a['tollgate.policy.name'], 'acme-ai-gateway');
    assert.equal(a['tollgate.policy.hash'], h.rules.policy.hash);
    assert.equal(a['tollgate.user.pseudonym'], 'pseudonym-of-bob@acme.dev', 'a pseudonym by default');
    assert.equal(a['tollgate.user.address'], undefined);
    assert.equal(a['tollgate.agent.name'], 'notebook');
    assert.equal(a['tollgate.usage.known'], true);
    assert.ok(typeof a['tollgate.cost.usd'] === 'number' && a['tollgate.cost.usd'] > 0);
    assert.equal(span.parentSpanContext, undefined, 'no traceparent came in: a root span');
    noSecrets(span);
    assert.match(call.sent!.headers.traceparent ?? '', new RegExp(`^00-${span.spanContext().traceId}-${span.spanContext().spanId}-01$`), 'the upstream request carries the span as its parent');
  });

  it('names the model the request went to after a downgrade, as the metrics do, and keeps the one the client asked for apart', async () => {
    const h = harness(bob, referenceText.replace('limit_usd: 5', 'limit_usd: 0.0005'));
    const call = new FakeCall(chat('gpt-4o'), replying({ reading: { input: 20, output: 5, outputText: '' }, aborted: false, status: 200 }), { authorization: `Bearer ${TOKEN}` });
    await h.pipeline.run(call, chatRoute, h.rules);
    assert.equal(JSON.parse(call.sent!.body.toString()).model, 'gpt-4o-mini', 'the budget downgraded the call');
    const span = only(h);
    assert.equal(span.name, 'chat gpt-4o-mini');
    assert.equal(span.attributes['gen_ai.request.model'], 'gpt-4o-mini');
    assert.equal(span.attributes['tollgate.model.asked'], 'gpt-4o');
  });

  it("is a child of the caller's traceparent, and the upstream request carries the span's context in place of the client's", async () => {
    const h = harness(bob);
    const incoming = `00-${PARENT_TRACE}-${PARENT_SPAN}-01`;
    const call = new FakeCall(chat('gpt-4o-mini'), replying({ reading: { input: 1, output: 1, outputText: '' }, aborted: false, status: 200 }), { authorization: `Bearer ${TOKEN}`, traceparent: incoming, tracestate: 'acme=t61rcWkgMzE' });
    await h.pipeline.run(call, chatRoute, h.rules);

    const span = only(h);
    assert.equal(span.spanContext().traceId, PARENT_TRACE);
    assert.equal(span.parentSpanContext?.spanId, PARENT_SPAN);
    assert.notEqual(span.spanContext().spanId, PARENT_SPAN);
    assert.equal(call.sent!.headers.traceparent, `00-${PARENT_TRACE}-${span.spanContext().spanId}-01`);
    assert.equal(call.sent!.headers.tracestate, 'acme=t61rcWkgMzE', "the caller's trace state goes on with the trace");
  });

  it('starts a new trace for a traceparent that is not valid, and sends that one upstream', async () => {
    const h = harness(bob);
    const call = new FakeCall(chat('gpt-4o-mini'), replying({ reading: { input: 1, output: 1, outputText: '' }, aborted: false, status: 200 }), { authorization: `Bearer ${TOKEN}`, traceparent: `00-${'0'.repeat(32)}-${PARENT_SPAN}-01\r\nx-evil: 1`, tracestate: 'junk' });
    await h.pipeline.run(call, chatRoute, h.rules);
    const span = only(h);
    assert.equal(span.parentSpanContext, undefined);
    assert.equal(call.sent!.headers.traceparent, `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
    assert.equal(call.sent!.headers.tracestate, undefined, "the client's trace state went with its invalid traceparent");
  });

  it('gives a refused call a span with status ERROR and the refusal kind as error.type; nothing goes upstream', async () => {
    const h = harness(dev);
    const call = new FakeCall(chat('gpt-4o'), () => assert.fail('a refused call must not go upstream'), { authorization: `Bearer ${TOKEN}`, traceparent: `00-${PARENT_TRACE}-${PARENT_SPAN}-01` });
    await h.pipeline.run(call, chatRoute, h.rules);

    const span = only(h);
    assert.equal(span.name, 'chat gpt-4o');
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    assert.equal(span.attributes['error.type'], 'entitlement');
    assert.equal(span.attributes['tollgate.decision.outcome'], 'refuse');
    assert.equal(span.attributes['tollgate.decision.id'], 'rec-1', 'the span names the refusal record');
    assert.ok(span.attributes['tollgate.decision.rule']);
    assert.equal(span.attributes['tollgate.cost.usd'], 0);
    assert.equal(span.attributes['gen_ai.usage.input_tokens'], undefined);
    assert.equal(span.parentSpanContext?.spanId, PARENT_SPAN);
    noSecrets(span);
  });

  it('reports an upstream error status as error.type, and no usage the provider did not report', async () => {
    const h = harness(bob);
    const call = new FakeCall(chat('gpt-4o-mini', { stream: true }), replying({ reading: { outputText: '' }, aborted: false, status: 429 }), { authorization: `Bearer ${TOKEN}` });
    await h.pipeline.run(call, chatRoute, h.rules);
    const span = only(h);
    assert.equal(span.attributes['gen_ai.request.stream'], true);
    assert.equal(span.attributes['error.type'], '429');
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    assert.equal(span.attributes['gen_ai.usage.input_tokens'], 0, 'a provider bills nothing for an error without usage');
  });

  it('reports a call settled at its reservation (usage never reported) without gen_ai.usage', async () => {
    const h = harness(bob);
    const call = new FakeCall(chat('gpt-4o-mini'), replying({ reading: { outputText: '' }, aborted: false, status: 200 }), { authorization: `Bearer ${TOKEN}` });
    await h.pipeline.run(call, chatRoute, h.rules);
    const span = only(h);
    assert.equal(span.attributes['tollgate.usage.known'], false);
    assert.equal(span.attributes['gen_ai.usage.input_tokens'], undefined, 'unknown is not zero');
    assert.equal(span.attributes['error.type'], undefined);
  });

  it('names Anthropic and Gemini calls with their conventions values', async () => {
    const h = harness(bob);
    const ok = replying({ reading: { input: 5, output: 2, outputText: '' }, aborted: false, status: 200 });
    await h.pipeline.run(new FakeCall({ model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: PROMPT }] }, ok, { 'x-api-key': TOKEN }), { provider: 'anthropic', path: '/v1/messages', query: '' }, h.rules);
    await h.pipeline.run(new FakeCall({ contents: [{ role: 'user', parts: [{ text: PROMPT }] }] }, ok, { 'x-goog-api-key': TOKEN }), { provider: 'gemini', path: '/v1beta/models/gemini-2.5-flash:streamGenerateContent', query: '?alt=sse' }, h.rules);
    const [anthropic, gemini] = h.exporter.getFinishedSpans();
    assert.equal(anthropic!.name, 'chat claude-haiku-4-5');
    assert.equal(anthropic!.attributes['gen_ai.provider.name'], 'anthropic');
    assert.equal(anthropic!.attributes['server.address'], 'api.anthropic.com');
    assert.equal(gemini!.name, 'generate_content gemini-2.5-flash');
    assert.equal(gemini!.attributes['gen_ai.provider.name'], 'gcp.gemini');
    assert.equal(gemini!.attributes['gen_ai.request.stream'], true);
    assert.equal(gemini!.attributes['server.address'], 'generativelanguage.googleapis.com');
    for (const s of [anthropic!, gemini!]) noSecrets(s);
  });

  it('bounds the model name a client writes, in the span name and its attribute', async () => {
    const h = harness(dev);
    const huge = `gpt-${'x'.repeat(100_000)}`;
    await h.pipeline.run(new FakeCall(chat(huge), () => assert.fail('refused by entitlement'), { authorization: `Bearer ${TOKEN}` }), chatRoute, h.rules);
    const span = only(h);
    assert.equal(span.attributes['gen_ai.request.model'], huge.slice(0, 256));
    assert.equal(span.name, `chat ${huge.slice(0, 256)}`);
  });

  it('traces no call that invokes no model (GET /v1/models), and leaves its trace headers as they came', async () => {
    const h = harness(bob);
    const incoming = `00-${PARENT_TRACE}-${PARENT_SPAN}-01`;
    const call = new FakeCall({}, replying({ reading: { outputText: '' }, aborted: false, status: 200 }), { authorization: `Bearer ${TOKEN}`, traceparent: incoming }, 'GET');
    await h.pipeline.run(call, { provider: 'openai', path: '/v1/models', query: '' }, h.rules);
    assert.equal(h.exporter.getFinishedSpans().length, 0);
    assert.equal(call.sent!.headers.traceparent, incoming);
  });

  it("passes the client's traceparent unchanged when nothing traces", async () => {
    const h = harness(bob, referenceText, false);
    const incoming = `00-${PARENT_TRACE}-${PARENT_SPAN}-01`;
    const call = new FakeCall(chat('gpt-4o-mini'), replying({ reading: { input: 1, output: 1, outputText: '' }, aborted: false, status: 200 }), { authorization: `Bearer ${TOKEN}`, traceparent: incoming, tracestate: 'acme=1' });
    await h.pipeline.run(call, chatRoute, h.rules);
    assert.equal(call.sent!.headers.traceparent, incoming);
    assert.equal(call.sent!.headers.tracestate, 'acme=1');
  });

  it("names the person as the bundle's telemetry.identity says: the address, or not at all; the agent always", async () => {
    for (const [mode, expect] of [['user', { address: 'bob@acme.dev' }], ['none', {}]] as const) {
      const h = harness(bob, `${referenceText}\ntelemetry:\n  identity: ${mode}\n`);
      await h.pipeline.run(new FakeCall(chat('gpt-4o-mini'), replying({ reading: { input: 1, output: 1, outputText: '' }, aborted: false, status: 200 }), { authorization: `Bearer ${TOKEN}` }), chatRoute, h.rules);
      const a = only(h).attributes;
      assert.equal(a['tollgate.user.address'], 'address' in expect ? expect.address : undefined, mode);
      assert.equal(a['tollgate.user.pseudonym'], undefined, mode);
      assert.equal(a['tollgate.agent.name'], 'notebook', mode);
      assert.ok(!JSON.stringify(a).includes(mode === 'none' ? 'bob' : 'pseudonym-of'), mode);
    }
  });
});

describe('traces: the exporter set up from the environment', () => {
  it("hides the collector's header values from the proxy's log, as written and decoded", async () => {
    const secrets: string[] = [];
    const tracer = CallTracer.fromEnvironment(
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc123,x-team= t-42 ', OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-other=%zz' },
      { upstreamOverrides: new Map(), pseudonymOf: (u) => u, clock: Date.now },
      { warn: () => undefined, addSecret: (s) => void (s && secrets.push(s)) },
    );
    await tracer.shutdown();
    for (const s of ['Bearer%20abc123', 'Bearer abc123', 't-42', '%zz']) assert.ok(secrets.includes(s), `${s} is a secret`);
  });
});

describe('traces: attribute pieces', () => {
  it('reads server.address and server.port from an upstream base URL', () => {
    assert.deepEqual(upstreamAddressOf('https://api.openai.com'), { address: 'api.openai.com', port: 443 });
    assert.deepEqual(upstreamAddressOf('http://127.0.0.1:9000/v1'), { address: '127.0.0.1', port: 9000 });
    assert.deepEqual(upstreamAddressOf('http://[::1]:8080'), { address: '::1', port: 8080 });
    assert.equal(upstreamAddressOf('not a url'), undefined);
  });

  it('names the identity in each mode', () => {
    const of = (u: string): string => `p(${u})`;
    assert.deepEqual(identityAttributes(bob, 'pseudonym', of), { 'tollgate.agent.name': 'notebook', 'tollgate.user.pseudonym': 'p(bob@acme.dev)' });
    assert.deepEqual(identityAttributes(bob, 'user', of), { 'tollgate.agent.name': 'notebook', 'tollgate.user.address': 'bob@acme.dev' });
    assert.deepEqual(identityAttributes(bob, 'none', of), { 'tollgate.agent.name': 'notebook' });
  });
});
