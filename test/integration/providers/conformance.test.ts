import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ErrorKind } from '../../../src/contracts/refusal';
import type { PlainRequest, ProviderAdapter } from '../../../src/providers/adapter';
import { adapterFor } from '../../../src/providers/registry';
import type { AuditRecord, DecisionRecord, SettleRecord } from '../../../src/contracts/audit-records';
import { MockUpstream } from '../../helpers/mock-upstream';
import type { MockStyle } from '../../helpers/mock-style';
import { eventually } from '../../helpers/poll';
import { startTestProxy, UPSTREAM_KEY } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';

// The proxy's contract with every provider style, proved the same way for each: the built-in ones
// and any defined only in test code. Each folder under test/providers is one style's test part:
// its part of the mock upstream (mock.ts) and, for a style the product does not ship, its adapter
// (adapter.ts, which registers it and exports `unregister`). A new folder joins this suite as it is.

const providersDir = path.join(__dirname, '..', '..', 'providers');
const styles = fs.readdirSync(providersDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

/** Loads a folder's modules when the suite runs, so a style defined for the tests is registered only while it does. */
function load(file: string): Record<string, unknown> | undefined {
  if (!fs.existsSync(file)) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- found at run time: a new folder needs no import here
  return require(file) as Record<string, unknown>;
}

function isMockStyle(v: unknown): v is MockStyle {
  return typeof v === 'object' && v !== null && typeof (v as MockStyle).serves === 'function' && typeof (v as MockStyle).style === 'string';
}

/** Stands for the message in a style's error shape; the rest of the shape must be exactly the style's. */
const MESSAGE = '\u0000message';

function assertShape(actual: unknown, expected: unknown, at = 'body'): void {
  if (expected === MESSAGE) {
    assert.ok(typeof actual === 'string' && actual.length > 0, `${at}: the message`);
    return;
  }
  if (expected !== null && typeof expected === 'object') {
    assert.ok(actual !== null && typeof actual === 'object', `${at} is ${JSON.stringify(actual)}`);
    assert.deepEqual(Object.keys(actual as object).sort(), Object.keys(expected).sort(), `${at}: keys`);
    for (const [k, v] of Object.entries(expected)) assertShape((actual as Record<string, unknown>)[k], v, `${at}.${k}`);
    return;
  }
  assert.deepEqual(actual, expected, at);
}

function policyFor(style: string, upstream: string, fields?: string): string {
  return `version: 1
name: conformance-${style}
providers:
  ${style}: { upstream: "${upstream}", style: ${style}, key_env: CONFORMANCE_KEY${fields ? `, ${fields}` : ''} }
identity:
  required: true
prices:
  "*": { input: 1.00, output: 1.00 }
limits:
  - id: burst
    per: user
    algorithm: token-bucket
    rate: 1/h
    burst: 3
    cost: requests
budgets:
  - id: daily
    per: user
    period: day
    limit_usd: 0.01
    on_exceed: refuse
entitlements:
  default:
    models: ["*"]
    max_input_tokens: 200
`;
}

/** A route of the table with its placeholders (`{id}`, `{model}`) filled in. */
function concrete(pattern: string): string {
  return pattern.replace(/\{[a-z]+\}/g, 'some-id');
}

describe('provider conformance: every registered style, through the proxy', () => {
  const unregister: (() => void)[] = [];
  const mocks = new Map<string, MockStyle>();
  before(() => {
    for (const style of styles) {
      const registered = load(path.join(providersDir, style, 'adapter.ts'));
      if (typeof registered?.unregister === 'function') unregister.push(registered.unregister as () => void);
      const mock = Object.values(load(path.join(providersDir, style, 'mock.ts')) ?? {}).find(isMockStyle);
      if (mock) mocks.set(mock.style, mock);
    }
  });
  after(() => {
    for (const u of unregister) u();
  });

  it('finds a test-only style beside the built-in ones', () => {
    assert.ok(styles.includes('openai') && styles.includes('anthropic') && styles.includes('gemini') && styles.includes('echo'), styles.join(', '));
  });

  for (const style of styles) {
    describe(`style '${style}'`, () => {
      let adapter: ProviderAdapter;
      let mock: MockUpstream;
      let p: TestProxy;

      before(async () => {
        adapter = adapterFor(style);
        const part = mocks.get(style);
        assert.ok(part, `test/providers/${style}/mock.ts exports the mock upstream's part for '${style}'`);
        mock = new MockUpstream([part]);
        const upstream = await mock.start();
        // Decisions are made at one instant, so no bucket refills however slowly the machine runs;
        // a little ahead of now, so that every token the tests mint is already valid then.
        const at = Date.now() + 60_000;
        p = await startTestProxy(upstream, { policyText: policyFor(style, upstream, part.providerFields), clock: () => at, env: { CONFORMANCE_KEY: UPSTREAM_KEY } });
      });
      after(async () => {
        await p?.stop();
        await mock?.stop();
      });

      /** A request the way this style's clients send it: the key where they put it, an extra query parameter beside it. */
      async function send(o: { user?: string; route?: string; method?: string; body?: unknown; headers?: Record<string, string>; query?: Record<string, string> }): Promise<Response> {
        const route = o.route ?? generateRoute(false);
        const headers: Record<string, string> = { 'content-type': 'application/json', ...(o.headers ?? {}) };
        const query = new URLSearchParams({ conformance: '1', ...(o.query ?? {}) });
        if (o.user) {
          const token = await p.token(o.user);
          const place = adapter.clientKeys[0]!;
          if ('query' in place) query.set(place.query, token);
          else headers[place.header] = place.scheme ? `${place.scheme} ${token}` : token;
        }
        const method = o.method ?? 'POST';
        return fetch(`${p.url}/${style}${route}?${query.toString()}`, { method, headers, body: method === 'GET' || method === 'HEAD' ? undefined : JSON.stringify(o.body ?? {}) });
      }

      function plain(o: { stream?: boolean; maxTokens?: number; say?: string } = {}): PlainRequest {
        return { model: 'conformance-model', messages: [{ role: 'user', content: o.say ?? 'hello' }], maxTokens: o.maxTokens ?? 16, reserveOutputTokens: 64, stream: o.stream };
      }

      function request(o: { stream?: boolean; maxTokens?: number; say?: string } = {}): Record<string, unknown> {
        return adapter.requestFor(adapter.defaultRoute, plain(o));
      }

      /** The generating route, where a style names the model or streaming in the path (Gemini) as it names them. */
      function generateRoute(stream: boolean): string {
        return adapter.routeFor?.(adapter.defaultRoute, plain({ stream })) ?? adapter.defaultRoute;
      }

      async function records(): Promise<AuditRecord[]> {
        return p.records();
      }

      async function settled(decision: string): Promise<SettleRecord> {
        let found: SettleRecord | undefined;
        await eventually(async () => {
          found = (await records()).find((r): r is SettleRecord => r.kind === 'settle' && r.decision === decision);
          return found !== undefined;
        }, `the settle record of ${decision}`);
        return found!;
      }

      async function assertRefusal(r: Response, status: number, kind: ErrorKind): Promise<void> {
        const text = await r.text();
        assert.equal(r.status, status, text);
        assertShape(JSON.parse(text), adapter.errorBody(kind, MESSAGE));
        assert.match(r.headers.get('x-tollgate-decision') ?? '', /^[0-9A-Z]{26}$/);
      }

      it('refuses a path its route table does not hold with 404, in its own error shape, before the upstream', async () => {
        const before = mock.seen.length;
        await assertRefusal(await send({ user: 'routes@conformance.test', route: '/no/such/route', body: request() }), 404, 'not-found');
        assert.equal(mock.seen.length, before);
      });

      it('refuses a method a route does not take with 405 and an Allow header', async () => {
        const generate = adapter.routes.patterns.find((pattern) => adapter.routes.match('POST', concrete(pattern)).ok)!;
        const r = await send({ user: 'routes@conformance.test', route: concrete(generate), method: 'DELETE' });
        assert.equal(r.headers.get('allow'), 'POST');
        await assertRefusal(r, 405, 'bad-request');
      });

      it('serves its passthrough routes without a model call', async () => {
        const passthrough = adapter.routes.patterns.map(concrete).filter((route) => {
          const m = adapter.routes.match('GET', route);
          return m.ok && m.spec.kind === 'passthrough';
        });
        for (const route of passthrough) {
          const r = await send({ user: 'catalog@conformance.test', route, method: 'GET' });
          assert.equal(r.status, 200, `${route}: ${await r.clone().text()}`);
          await r.text();
          assert.equal(mock.last().url.split('?')[0], route);
        }
      });

      it('forwards an allowed call with the upstream key where the upstream takes it, and never the client key', async () => {
        const token = await p.token('forward@conformance.test');
        const passes = adapter.clientHeaders[0];
        const r = await send({ user: 'forward@conformance.test', body: request(), headers: { 'x-not-for-upstream': 'no', ...(passes ? { [passes]: 'kept' } : {}) } });
        assert.equal(r.status, 200, await r.clone().text());
        await r.text();
        const seen = mock.last();
        for (const [name, value] of Object.entries(adapter.authHeaders(UPSTREAM_KEY))) assert.equal(seen.headers[name.toLowerCase()], value, name);
        assert.equal(seen.url, `${generateRoute(false)}?conformance=1`, 'the query goes upstream as sent, less the client key');
        assert.equal(seen.headers['x-not-for-upstream'], undefined, 'a header the style does not pass stays behind');
        if (passes) assert.equal(seen.headers[passes], 'kept');
        // The session token is not a value the proxy sends anywhere, in any header or the target.
        for (const s of mock.seen) assert.ok(!JSON.stringify([s.url, s.headers, s.body]).includes(token.slice(-24)), 'the client key reached the upstream');
      });

      it('settles the usage a whole reply reports', async () => {
        const r = await send({ user: 'body@conformance.test', body: request() });
        assert.equal(r.status, 200);
        await r.text();
        const s = await settled(r.headers.get('x-tollgate-decision')!);
        assert.deepEqual(s.usage, { input_tokens: mock.inputTokens, output_tokens: mock.outputTokens });
        assert.equal(s.aborted, false);
      });

      it('asks a stream for its usage and settles what the stream reports', async () => {
        // alt=sse is how Google's clients ask for server-sent events; other styles' upstreams ignore it.
        const r = await send({ user: 'stream@conformance.test', route: generateRoute(true), query: { alt: 'sse' }, body: request({ stream: true }) });
        assert.equal(r.status, 200);
        assert.match(r.headers.get('content-type') ?? '', /text\/event-stream/);
        await r.text();
        const s = await settled(r.headers.get('x-tollgate-decision')!);
        // The mock streams three content events and reports them as the output.
        assert.deepEqual(s.usage, { input_tokens: mock.inputTokens, output_tokens: 3 });
      });

      it('refuses a rate-limited call with 429 in its own error shape', async () => {
        for (let i = 0; i < 3; i++) {
          const ok = await send({ user: 'rate@conformance.test', body: request() });
          assert.equal(ok.status, 200);
          await ok.text();
        }
        const before = mock.seen.length;
        const r = await send({ user: 'rate@conformance.test', body: request() });
        assert.equal(r.headers.get('x-tollgate-rule'), 'burst');
        await assertRefusal(r, 429, 'rate-limit');
        assert.equal(mock.seen.length, before, 'a refused call never reaches the upstream');
      });

      it('refuses a call over its budget in its own error shape', async () => {
        const r = await send({ user: 'budget@conformance.test', body: request({ maxTokens: 100_000 }) });
        assert.equal(r.headers.get('x-tollgate-rule'), 'daily');
        await assertRefusal(r, 429, 'budget');
      });

      it('refuses a prompt over the context cap in its own error shape', async () => {
        const r = await send({ user: 'context@conformance.test', body: request({ say: 'word '.repeat(400) }) });
        const id = r.headers.get('x-tollgate-decision');
        await assertRefusal(r, 400, 'context');
        assert.equal(r.headers.get('x-tollgate-rule'), 'entitlements.max_input_tokens');
        const rec = (await records()).find((x): x is DecisionRecord => x.id === id && x.kind === 'decision');
        assert.equal(rec?.outcome, 'refuse');
      });

      it('refuses a call without a key with 401 in its own error shape', async () => {
        await assertRefusal(await send({ body: request() }), 401, 'identity');
      });
    });
  }
});
