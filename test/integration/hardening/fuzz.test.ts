import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { MockUpstream } from '../../helpers/mock-upstream';
import { referencePath } from '../../helpers/policy';
import { rawRequest } from '../../helpers/raw-http';
import { CLI, startServe } from '../../helpers/serve-process';
import type { ServeProcess } from '../../helpers/serve-process';

// Hostile request lines, headers and bodies against a real `tollgate serve` on the reference
// bundle: nothing crashes, every answer names a record that exists, the upstream sees only what
// the engine decided on, and afterwards no hold is left behind.

interface Sent {
  readonly method: string;
  readonly target: string;
  readonly status: number;
  readonly decision: string | undefined;
}

type Rec = Record<string, unknown> & { id: string; kind: string };

const users = ['alice@acme.dev', 'bob@acme.dev', 'carol@acme.dev'];
const models = ['gpt-4o-mini', 'gpt-4o', 'claude-haiku-4-5', 'claude-sonnet-4-5', 'o3'];
const paths = [
  '/v1/chat/completions', '/v1/chat/completions', '/v1/chat/completions', '/v1/responses', '/v1/embeddings', '/v1/completions', '/v1/messages', '/v1/messages',
  '/v1/messages/count_tokens', '/v1/models', '/v1/models/gpt-4o-mini', '/', '/v1/files', '/v1/chat/completions/', '/v1//chat/completions', '/v1/chat/../models',
  '/v1/chat/completions;x=1', '/v1/chat/completions#frag', '/v1/%63hat/completions', '/v1/chat\\completions', '/V1/chat/completions',
];

const text = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.constantFrom('mail me at a.b@example.com', 'card 4111 1111 1111 1111', 'call (555) 123-4567', 'é'.repeat(2000), 'a.'.repeat(2000)),
);

const generation = fc.record({
  model: fc.constantFrom(...models),
  messages: fc.array(fc.record({ role: fc.constantFrom('user', 'assistant', 'system'), content: text }), { minLength: 1, maxLength: 3 }),
  max_tokens: fc.option(fc.oneof(fc.integer({ min: 1, max: 200_000 }), fc.constant(-1), fc.constant(1.5)), { nil: undefined }),
  max_completion_tokens: fc.option(fc.integer({ min: 0, max: 200_000 }), { nil: undefined }),
  n: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
  stream: fc.option(fc.boolean(), { nil: undefined }),
  metadata: fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined }),
});

const body = fc.oneof(
  { weight: 6, arbitrary: generation.map((g) => JSON.stringify(g)) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 300 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }).map((d) => `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"metadata":${'['.repeat(d)}${']'.repeat(d)}}`) },
  { weight: 1, arbitrary: fc.constant('') },
);

/** A value one time in `every`, otherwise undefined. */
function sometimes<T>(arb: fc.Arbitrary<T>, every: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: every - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
}

type Req = { method: string; target: string; headers: Record<string, string>; body: string };

/** A call a real client would make: the right route for its provider, a token, a sensible body. */
function wellFormed(tokens: readonly string[]): fc.Arbitrary<Req> {
  const content = fc.array(fc.record({ role: fc.constant('user'), content: text }), { minLength: 1, maxLength: 2 });
  const openai = fc.record({
    model: fc.constantFrom('gpt-4o-mini', 'gpt-4o-mini', 'gpt-4o'), messages: content, max_tokens: fc.integer({ min: 1, max: 50_000 }),
    n: fc.constantFrom(1, 1, 2), stream: fc.boolean(),
  }).map((b) => ({ target: '/openai/v1/chat/completions', body: JSON.stringify(b) }));
  const anthropic = fc.record({ model: fc.constantFrom('claude-haiku-4-5', 'claude-sonnet-4-5'), messages: content, max_tokens: fc.integer({ min: 1, max: 50_000 }), stream: fc.boolean() })
    .map((b) => ({ target: '/anthropic/v1/messages', body: JSON.stringify(b) }));
  return fc.record({ call: fc.oneof(openai, anthropic), token: fc.constantFrom(...tokens), agent: sometimes(fc.constantFrom('a', 'b'), 4) }).map(({ call, token, agent }) => ({
    method: 'POST', target: call.target, body: call.body,
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', authorization: `Bearer ${token}`, ...(agent ? { 'x-tollgate-agent': agent } : {}) },
  }));
}

/** Anything at all, within what a socket can carry: wrong methods, paths, credentials, origins, bodies. */
function hostile(tokens: readonly string[]): fc.Arbitrary<Req> {
  return fc.record({
    method: fc.constantFrom('POST', 'POST', 'POST', 'POST', 'GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'),
    provider: fc.constantFrom('openai', 'openai', 'anthropic', 'anthropic', 'nope', ''),
    path: fc.constantFrom(...paths),
    query: fc.constantFrom('', '', '?beta=true', '?a=%00', '?x=1#y'),
    auth: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...tokens).map((t) => ({ authorization: `Bearer ${t}` })) },
      { weight: 2, arbitrary: fc.constantFrom(...tokens).map((t) => ({ 'x-api-key': t })) },
      { weight: 1, arbitrary: fc.constantFrom<Record<string, string>>({}, { authorization: 'Bearer x.y.z' }, { authorization: 'Basic Zm9vOmJhcg==' }) },
      { weight: 1, arbitrary: fc.constantFrom(...tokens).map((t) => ({ authorization: `Bearer ${t.slice(0, -2)}${t.endsWith('A') ? 'B' : 'A'}${t.slice(-1)}` })) },
    ),
    agent: sometimes(fc.oneof(fc.constantFrom('a', 'b', 'batch-eval'), fc.stringMatching(/^[A-Za-z0-9._:/-]{0,70}$/)), 3),
    origin: sometimes(fc.constantFrom('http://evil.example', 'null'), 10),
    host: sometimes(fc.constantFrom('evil.example', 'localhost'), 10),
    trace: sometimes(fc.constantFrom('0af7651916cd43dd8448eb211c80319c', '4bf92f3577b34da6a3ce929d0e0e4736'), 3),
    body,
  }).map((r) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...r.auth };
    if (r.agent !== undefined) headers['x-tollgate-agent'] = r.agent;
    if (r.origin !== undefined) headers.origin = r.origin;
    if (r.host !== undefined) headers.host = r.host;
    if (r.trace !== undefined) headers.traceparent = `00-${r.trace}-00f067aa0ba902b7-01`;
    return { method: r.method, target: `/${r.provider}${r.path}${r.query}`.replace(/^\/\//, '/'), headers, body: r.method === 'GET' || r.method === 'HEAD' ? '' : r.body };
  });
}

function request(tokens: readonly string[]): fc.Arbitrary<Req> {
  return fc.oneof({ weight: 2, arbitrary: wellFormed(tokens) }, { weight: 3, arbitrary: hostile(tokens) });
}

describe('fuzzing a real serve process with hostile requests', function () {
  this.timeout(180_000);
  let mock: MockUpstream;
  let serve: ServeProcess;
  let dataDir: string;
  const sent: Sent[] = [];

  before(async () => {
    mock = new MockUpstream();
    const upstream = await mock.start();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-fuzz-'));
    serve = await startServe(['--policy', referencePath, '--data-dir', dataDir, '--upstream', `openai=${upstream}`, '--upstream', `anthropic=${upstream}`, '--upstream-timeout', '5s', '--body-timeout', '5s']);
  });
  after(async () => {
    if (serve.child.exitCode === null) serve.child.kill('SIGKILL');
    await mock.stop();
  });

  it('never crashes, names a recorded decision in every answer and leaks no hold', async () => {
    const tokens = users.map((u, i) => execFileSync(process.execPath, [CLI, 'token', '--user', u, '--agent', i === 1 ? 'batch-eval' : 'default', '--data-dir', dataDir], { encoding: 'utf8' }).trim());
    await fc.assert(
      fc.asyncProperty(fc.array(request(tokens), { minLength: 1, maxLength: 4 }), async (batch) => {
        // A few at once, so concurrent decisions and settlements interleave.
        const answers = await Promise.all(batch.map((r) => rawRequest(serve.url, { method: r.method, target: r.target, headers: r.headers, body: r.body, timeoutMs: 20_000 })));
        answers.forEach((a, i) => {
          assert.ok(a.status >= 200 && a.status < 600, `${batch[i]!.method} ${batch[i]!.target}: status ${a.status}`);
          assert.notEqual(a.status, 500, `${batch[i]!.method} ${batch[i]!.target}: ${a.body}`);
          sent.push({ method: batch[i]!.method, target: batch[i]!.target, status: a.status, decision: a.headers['x-tollgate-decision'] });
        });
      }),
      { numRuns: 80, interruptAfterTimeLimit: 45_000 },
    );
    assert.equal(serve.child.exitCode, null, `the proxy is still running: ${serve.stderr()}`);

    const adminToken = fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
    const state = (await (await fetch(`${serve.url}/_tollgate/state`, { headers: { authorization: `Bearer ${adminToken}` } })).json()) as { accumulators: { rule: string; key: string; used: number }[] };
    serve.child.kill('SIGTERM');
    assert.equal(await serve.exited, 0, serve.stderr());
    assert.doesNotMatch(serve.stderr(), /unexpected|unhandled|TypeError|RangeError/i);

    const out = execFileSync(process.execPath, [CLI, 'audit', 'export', '--format', 'jsonl', '--data-dir', dataDir], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    const records = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Rec);
    const ids = new Set(records.map((r) => r.id));
    for (const s of sent) {
      if (s.status === 204 && s.method === 'OPTIONS') continue;
      assert.ok(s.decision, `${s.method} ${s.target} (${s.status}) carries a decision id`);
      assert.ok(ids.has(s.decision), `${s.method} ${s.target} (${s.status}): record ${s.decision} exists`);
    }

    // The upstream saw only what the engine decided on: each path it received is the route of an admitted decision.
    const decisions = records.filter((r) => r.kind === 'decision') as (Rec & { outcome: string; route: string; provider: string; status: number; shadow: boolean; identity: { user: string }; reserved: { input_tokens: number; output_tokens: number }; limits: { rule: string; key: string; before: number; after: number }[] })[];
    const admitted = decisions.filter((d) => d.outcome === 'allow' || d.outcome === 'downgrade');
    const routes = new Set(admitted.map((d) => d.route));
    for (const seen of mock.seen) assert.ok(routes.has(seen.url.split('?')[0]!), `the upstream got ${seen.url}, which no decision admitted`);
    assert.ok(mock.seen.length <= admitted.length, 'no more upstream calls than admitted decisions');

    // No leaked hold: every admitted call is settled, and each person's token window holds exactly what their settlements charged.
    const settles = new Map(records.filter((r) => r.kind === 'settle').map((r) => [r.decision as string, r as Rec & { usage: { input_tokens: number | null; output_tokens: number | null } }]));
    const expected = new Map<string, number>();
    for (const d of admitted) {
      const s = settles.get(d.id);
      assert.ok(s, `decision ${d.id} (${d.route}) was settled`);
      const l = d.limits.find((x) => x.rule === 'user-tokens');
      if (!l) continue;
      const held = l.after - l.before;
      const reservedTokens = d.reserved.input_tokens + d.reserved.output_tokens;
      const known = s.usage.input_tokens !== null && s.usage.output_tokens !== null;
      const actual = known && reservedTokens > 0 ? (s.usage.input_tokens! + s.usage.output_tokens!) * (held / reservedTokens) : held;
      expected.set(l.key, (expected.get(l.key) ?? 0) + actual);
    }
    for (const [key, used] of expected) {
      const acc = state.accumulators.find((a) => a.rule === 'user-tokens' && a.key === key);
      assert.ok(acc, `user-tokens ${key} is listed`);
      assert.ok(Math.abs(acc.used - used) < 1e-6 * Math.max(1, used), `user-tokens ${key}: ${acc.used} held, settlements charged ${used}`);
    }
    const statuses = sent.reduce<Record<number, number>>((m, s) => ({ ...m, [s.status]: (m[s.status] ?? 0) + 1 }), {});
    assert.ok(admitted.length > 10, `the fuzz reached the engine (${admitted.length} admitted calls; answers by status: ${JSON.stringify(statuses)})`);
  });
});
