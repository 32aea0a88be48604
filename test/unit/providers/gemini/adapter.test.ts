import assert from 'node:assert/strict';
import type { ModelCall } from '../../../../src/contracts/call';
import { MalformedRequestError } from '../../../../src/contracts/call';
import type { ErrorKind } from '../../../../src/contracts/refusal';
import type { RequestChanges } from '../../../../src/providers/adapter';
import { clientKeyOf, upstreamQuery } from '../../../../src/providers/client-key';
import { geminiAdapter as adapter } from '../../../../src/providers/gemini/adapter';
import { styleOfModel } from '../../../../src/providers/registry';
import { RouteTable } from '../../../../src/providers/routes';
import { callFor, parseTrafficLine } from '../../../../src/simulate/traffic';
import { policyFrom, referenceText } from '../../../helpers/policy';
import type { RewriteCase } from '../../../helpers/rewrite-cases';
import { itRewrites } from '../../../helpers/rewrite-cases';

const GENERATE = '/v1beta/models/gemini-2.5-flash:generateContent';
const STREAM = '/v1beta/models/gemini-2.5-flash:streamGenerateContent';
const COUNT = '/v1beta/models/gemini-2.5-flash:countTokens';

function call(route: string, body: Record<string, unknown>): ModelCall {
  return adapter.describe('gemini', route, 'POST', body);
}

const contents = [{ role: 'user', parts: [{ text: 'hi' }] }];
const request = { contents, generationConfig: { maxOutputTokens: 4000, temperature: 0.2 } };

describe('gemini adapter', () => {
  describe('routes: a {model}:method segment', () => {
    const table = new RouteTable([
      { pattern: '/v1beta/models/{model}:generateContent', methods: ['POST'], kind: 'generate' },
      { pattern: '/v1beta/models/{model}', methods: ['GET'], kind: 'passthrough' },
    ]);
    const cases: { path: string; method: string; kind?: string }[] = [
      { path: GENERATE, method: 'POST', kind: 'generate' },
      { path: '/v1beta/models/gemini-2.5-flash', method: 'GET', kind: 'passthrough' },
      // The method must be exactly the pattern's: no other spelling, suffix or empty model.
      { path: '/v1beta/models/gemini-2.5-flash:generateContentX', method: 'POST' },
      { path: '/v1beta/models/gemini-2.5-flash:generatecontent', method: 'POST' },
      { path: '/v1beta/models/:generateContent', method: 'POST' },
      { path: '/v1beta/models/a:b:generateContent', method: 'POST' },
      { path: '/v1beta/models/gemini-2.5-flash:generateContent/extra', method: 'POST' },
      { path: '/v1beta/models/', method: 'GET' },
      // A plain {model} is a name without a colon: an unknown method is no model to look up.
      { path: '/v1beta/models/gemini-2.5-flash:embedContent', method: 'GET' },
    ];
    for (const c of cases) {
      it(`${c.method} ${c.path} ${c.kind ? `is ${c.kind}` : 'is no route'}`, () => {
        const m = table.match(c.method, c.path);
        if (c.kind) assert.ok(m.ok && m.spec.kind === c.kind);
        else assert.ok(!m.ok && m.reason === 'unknown-route', JSON.stringify(m));
      });
    }

    it("serves Google's routes, each a kind of its own", () => {
      const kinds = [GENERATE, STREAM, COUNT].map((r) => adapter.routes.match('POST', r)).map((m) => (m.ok ? m.spec.kind : m.reason));
      assert.deepEqual(kinds, ['generate', 'generate', 'count']);
      for (const r of ['/v1beta/models', '/v1beta/models/gemini-2.5-flash']) assert.ok(adapter.routes.match('GET', r).ok, r);
      const wrong = adapter.routes.match('GET', GENERATE);
      assert.ok(!wrong.ok && wrong.reason === 'method-not-allowed');
    });
  });

  describe('describe', () => {
    it('takes the model from the path, the output cap from generationConfig and candidateCount as choices', () => {
      const c = call(GENERATE, { contents, generationConfig: { maxOutputTokens: 300, candidateCount: 2 } });
      assert.equal(c.model, 'gemini-2.5-flash');
      assert.equal(c.kind, 'generate');
      assert.equal(c.stream, false);
      assert.equal(c.requestedOutputTokens, 300);
      assert.equal(c.choices, 2);
    });

    it('streams by path, and leaves the output maximum to the reserve when none is asked', () => {
      const c = call(STREAM, { contents });
      assert.equal(c.stream, true);
      assert.equal(c.requestedOutputTokens, undefined);
      assert.equal(c.choices, 1);
    });

    it('counts contents, the system instruction and tool declarations, and keeps their text for classification', () => {
      const plain = call(GENERATE, { contents });
      const more = call(GENERATE, {
        contents, systemInstruction: { parts: [{ text: 'You are terse.' }] },
        tools: [{ functionDeclarations: [{ name: 'read_file', description: 'Reads a file', parameters: { type: 'object', properties: { path: { type: 'string' } } } }] }],
      });
      assert.ok(more.inputTokens > plain.inputTokens + 100, `${more.inputTokens} vs ${plain.inputTokens}`);
      assert.ok(more.texts.includes('You are terse.'));
      assert.ok(more.texts.some((t) => t.includes('read_file')));
    });

    it('holds an image it cannot measure high, and a small one at 258 tokens', () => {
      // A 1x1 PNG.
      const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
      const base = call(GENERATE, { contents }).inputTokens;
      const small = call(GENERATE, { contents: [{ role: 'user', parts: [{ text: 'hi' }, { inlineData: { mimeType: 'image/png', data: png } }] }] }).inputTokens;
      const unknown = call(GENERATE, { contents: [{ role: 'user', parts: [{ text: 'hi' }, { inlineData: { mimeType: 'image/webp', data: 'AAAA' } }] }] }).inputTokens;
      assert.equal(small - base, 258);
      assert.ok(unknown - base >= 2580);
    });

    it('charges nothing for countTokens, in either of its body forms', () => {
      for (const body of [{ contents }, { generateContentRequest: { model: 'models/gemini-2.5-flash', contents } }]) {
        const c = call(COUNT, body);
        assert.equal(c.kind, 'count');
        assert.equal(c.inputTokens, 0);
        assert.deepEqual(c.texts, ['hi']);
      }
    });

    it('refuses a body that is not a request', () => {
      for (const body of [{}, { contents: [] }, { contents: 'hi' }, { contents, generationConfig: { maxOutputTokens: 0 } }, { contents: [{ parts: 'x' }] }]) {
        assert.throws(() => call(GENERATE, body), MalformedRequestError, JSON.stringify(body));
      }
    });

    it('claims gemini models for the quota preview', () => {
      assert.equal(styleOfModel('gemini-2.5-flash'), 'gemini');
    });
  });

  describe('rewrite', () => {
    const cases: RewriteCase[] = [
      { name: 'clamps maxOutputTokens to the cap, keeping the rest of generationConfig', route: GENERATE, body: request, changes: { outputCap: 100 }, expect: { contents, generationConfig: { maxOutputTokens: 100, temperature: 0.2 } } },
      { name: 'leaves a maxOutputTokens under the cap', route: GENERATE, body: request, changes: { outputCap: 10_000 }, expect: request },
      { name: 'sets the cap where no maximum was asked', route: STREAM, body: { contents }, changes: { outputCap: 512 }, expect: { contents, generationConfig: { maxOutputTokens: 512 } } },
      { name: 'sends no pseudonym: Google has no end-user field', route: GENERATE, body: request, changes: { pseudonym: 'u-1' }, expect: request },
      { name: 'leaves the body of a downgrade alone: the model is in the path', route: GENERATE, body: request, changes: { model: 'gemini-2.0-flash' }, expect: request },
      { name: 'gives countTokens no output cap', route: COUNT, body: { contents }, changes: { outputCap: 100 }, expect: { contents } },
    ];
    itRewrites(adapter, call, cases);

    const paths: { name: string; route: string; changes: RequestChanges; expect: string }[] = [
      { name: 'a downgrade names the served model in the path', route: GENERATE, changes: { model: 'gemini-2.0-flash' }, expect: '/v1beta/models/gemini-2.0-flash:generateContent' },
      { name: 'a streamed downgrade keeps its method', route: STREAM, changes: { model: 'gemini-2.0-flash' }, expect: '/v1beta/models/gemini-2.0-flash:streamGenerateContent' },
      { name: 'no downgrade, no change', route: GENERATE, changes: { outputCap: 5 }, expect: GENERATE },
    ];
    for (const c of paths) {
      it(c.name, () => {
        assert.equal(adapter.upstreamPath?.(c.route, call(c.route, { contents }), c.changes), c.expect);
      });
    }
  });

  describe('stream tap', () => {
    const chunk = (text: string, usageMetadata: object, finishReason?: string): string => JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text }] }, ...(finishReason ? { finishReason } : {}) }], usageMetadata });
    const cases: { name: string; events: string[]; reading: Record<string, unknown> }[] = [
      {
        name: 'takes the last chunk\'s usage once a candidate finished',
        events: [chunk('Hel', { promptTokenCount: 11 }), chunk('lo', { promptTokenCount: 11, candidatesTokenCount: 3 }, 'STOP')],
        reading: { input: 11, output: 3, outputText: 'Hello' },
      },
      {
        name: 'takes no output total from a chunk before the end: a cut stream counts its text',
        events: [chunk('Hel', { promptTokenCount: 11, candidatesTokenCount: 1 })],
        reading: { input: 11, output: undefined, outputText: 'Hel' },
      },
      {
        name: 'reads thoughts as output and reasoning, cached content as cache reads, tool-use prompt as input',
        events: [chunk('ok', { promptTokenCount: 100, cachedContentTokenCount: 60, toolUsePromptTokenCount: 5, candidatesTokenCount: 7, thoughtsTokenCount: 20 }, 'STOP')],
        reading: { input: 105, cacheRead: 60, output: 27, reasoning: 20, outputText: 'ok' },
      },
      {
        name: 'collects a function call as output text, and counts it as a tool call',
        events: [JSON.stringify({ candidates: [{ content: { parts: [{ functionCall: { name: 'f', args: {} } }] } }] })],
        reading: { output: undefined, outputText: '{"name":"f","args":{}}', toolCalls: 1, toolNames: ['f'] },
      },
      { name: 'passes what is not JSON', events: ['not json'], reading: { outputText: '' } },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const tap = adapter.streamTap(false);
        for (const e of c.events) assert.equal(tap.event(e), e, 'every event passes as it came');
        const reading = Object.fromEntries(Object.entries({ ...tap.reading }).filter(([, v]) => v !== undefined));
        assert.deepEqual(reading, Object.fromEntries(Object.entries(c.reading).filter(([, v]) => v !== undefined)));
      });
    }
  });

  describe('usage from a body', () => {
    const cases: { name: string; body: unknown; reading: Record<string, unknown> }[] = [
      { name: 'a reply', body: { usageMetadata: { promptTokenCount: 11, candidatesTokenCount: 7, totalTokenCount: 18 } }, reading: { input: 11, output: 7 } },
      {
        name: 'cached content, thoughts and the tool-use prompt',
        body: { usageMetadata: { promptTokenCount: 1000, cachedContentTokenCount: 800, toolUsePromptTokenCount: 50, candidatesTokenCount: 10, thoughtsTokenCount: 90 } },
        reading: { input: 1050, cacheRead: 800, output: 100, reasoning: 90 },
      },
      {
        name: "a stream without alt=sse (one JSON array): its last chunk's usage",
        body: [{ usageMetadata: { promptTokenCount: 11 } }, { usageMetadata: { promptTokenCount: 11, candidatesTokenCount: 4 } }],
        reading: { input: 11, output: 4 },
      },
      { name: 'no usage: unknown, not zero', body: { candidates: [] }, reading: {} },
      { name: 'not an object', body: null, reading: {} },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const { outputText, ...r } = adapter.usageFromBody(c.body);
        assert.equal(outputText, '');
        assert.deepEqual(Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)), c.reading);
      });
    }
  });

  describe('error shapes', () => {
    const cases: { kind: ErrorKind; code: number; status: string }[] = [
      { kind: 'rate-limit', code: 429, status: 'RESOURCE_EXHAUSTED' },
      { kind: 'budget', code: 429, status: 'RESOURCE_EXHAUSTED' },
      { kind: 'trace', code: 429, status: 'RESOURCE_EXHAUSTED' },
      { kind: 'entitlement', code: 403, status: 'PERMISSION_DENIED' },
      { kind: 'identity', code: 401, status: 'UNAUTHENTICATED' },
      { kind: 'bad-request', code: 400, status: 'INVALID_ARGUMENT' },
      { kind: 'not-found', code: 404, status: 'NOT_FOUND' },
      { kind: 'unavailable', code: 503, status: 'UNAVAILABLE' },
      { kind: 'upstream', code: 502, status: 'INTERNAL' },
    ];
    for (const c of cases) {
      it(`${c.kind}: ${c.code} ${c.status}`, () => {
        assert.deepEqual(adapter.errorBody(c.kind, 'why'), { error: { code: c.code, message: 'why', status: c.status } });
      });
    }

    it("answers the context cap in Google's words for a prompt over the window, and says it is the team's cap", () => {
      const reason = "Tollgate refused this request: the prompt is about 120000 tokens, over the context cap of 100000 for alice@acme.dev (the team's cap, not the model's context window).";
      const body = adapter.errorBody('context', reason, { inputTokens: 120000, maxInputTokens: 100000 }) as { error: { code: number; status: string; message: string } };
      assert.equal(body.error.code, 400);
      assert.equal(body.error.status, 'INVALID_ARGUMENT');
      assert.match(body.error.message, /^The input token count \(120000\) exceeds the maximum number of tokens allowed \(100000\)\./);
      assert.match(body.error.message, /the team's cap, not the model's/);
    });
  });

  describe('keys and environment', () => {
    it('reads the client key from x-goog-api-key or ?key=, and never sends ?key= upstream', () => {
      assert.equal(clientKeyOf(adapter.clientKeys, { 'x-goog-api-key': 'tok' }, ''), 'tok');
      assert.equal(clientKeyOf(adapter.clientKeys, {}, '?alt=sse&key=tok'), 'tok');
      assert.equal(upstreamQuery(adapter.clientKeys, '?alt=sse&key=tok'), '?alt=sse');
      assert.deepEqual(adapter.authHeaders('real'), { 'x-goog-api-key': 'real' });
    });

    it('points the SDK and Gemini CLI at the proxy, the token in every variable the SDK reads a key from', () => {
      const env = adapter.sdkEnvironment('http://127.0.0.1:4100/gemini', 'tok');
      assert.deepEqual(env, { baseUrl: { name: 'GOOGLE_GEMINI_BASE_URL', value: 'http://127.0.0.1:4100/gemini' }, apiKey: { name: 'GEMINI_API_KEY', value: 'tok' }, otherKeyNames: ['GOOGLE_API_KEY'] });
    });

    it('builds a request for a plain description, on the route that names its model and streaming', () => {
      const plain = { model: 'gemini-2.5-flash', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }, { role: 'assistant', content: 'yo' }], maxTokens: 50, reserveOutputTokens: 1024 };
      assert.deepEqual(adapter.requestFor(adapter.defaultRoute, plain), {
        contents: [{ role: 'user', parts: [{ text: 'hi' }] }, { role: 'model', parts: [{ text: 'yo' }] }],
        systemInstruction: { parts: [{ text: 'be brief' }] },
        generationConfig: { maxOutputTokens: 50 },
      });
      assert.equal(adapter.routeFor?.(adapter.defaultRoute, plain), GENERATE);
      assert.equal(adapter.routeFor?.(adapter.defaultRoute, { ...plain, stream: true }), STREAM);
      const c = call(GENERATE, adapter.requestFor(adapter.defaultRoute, plain));
      assert.equal(c.requestedOutputTokens, 50);
    });
  });
});

describe('gemini traffic lines (simulate)', () => {
  const policy = policyFrom(referenceText);
  const line = (o: object): ReturnType<typeof parseTrafficLine> & object => parseTrafficLine(JSON.stringify({ time: '2026-11-23T12:00:00Z', user: 'dev@acme.dev', provider: 'gemini', ...o }), 1)!;

  it('replays a line without a route on generateContent, the model in the path', () => {
    const call = callFor(policy, line({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Say hi' }], max_tokens: 5 }), 1);
    assert.equal(call.route, GENERATE);
    assert.equal(call.model, 'gemini-2.5-flash');
    assert.equal(call.requestedOutputTokens, 5);
    assert.ok(call.inputTokens > 0);
  });

  it('replays a line given as counted tokens on the route that names its model', () => {
    const call = callFor(policy, line({ model: 'gemini-2.5-flash', input_tokens: 40 }), 1);
    assert.equal(call.route, GENERATE);
    assert.equal(call.inputTokens, 40);
  });
});
