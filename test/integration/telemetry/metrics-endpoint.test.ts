import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import OpenAI from 'openai';
import { LaunchError } from '../../../src/proxy/launch';
import { MockUpstream } from '../../helpers/mock-upstream';
import { referenceText } from '../../helpers/policy';
import { startTestProxy } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';

// GET /_tollgate/metrics: its own bearer token (or none, as the bundle says), never the admin
// token, and the admin API never takes the metrics token.

const withTelemetry = (section: string): string => `${referenceText}\ntelemetry:\n${section}`;

describe('the metrics endpoint', function () {
  this.timeout(30_000);
  let mock: MockUpstream;
  let upstream: string;
  let proxy: TestProxy;
  let metricsToken: string;

  const scrape = (headers: Record<string, string> = {}, init: RequestInit = {}): Promise<Response> => fetch(`${proxy.url}/_tollgate/metrics`, { headers, ...init });
  const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

  before(async () => {
    mock = new MockUpstream();
    upstream = await mock.start();
  });
  beforeEach(async () => {
    proxy = await startTestProxy(upstream, { policyText: withTelemetry('  exported: [user-daily]\n') });
    metricsToken = fs.readFileSync(path.join(proxy.dataDir, 'metrics-token'), 'utf8').trim();
  });
  afterEach(() => proxy.stop());
  after(() => mock.stop());

  it('makes its token on first start, private to the owner, and names the file, not the token, in the log', () => {
    const file = path.join(proxy.dataDir, 'metrics-token');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.match(metricsToken, /^[0-9a-f]{64}$/);
    assert.notEqual(metricsToken, proxy.running.adminToken);
    assert.ok(proxy.logs().includes(`Bearer <the token in ${file}>`));
    assert.ok(!proxy.logs().includes(metricsToken));
  });

  it('refuses a scrape without a token, with a wrong one, or with the admin token', async () => {
    for (const headers of [{}, bearer('0'.repeat(64)), bearer(metricsToken.slice(1)), bearer(proxy.running.adminToken), { authorization: metricsToken }]) {
      const r = await scrape(headers);
      assert.equal(r.status, 401, JSON.stringify(headers).replace(metricsToken, '<metrics token>'));
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
      const text = await r.text();
      assert.ok(!text.includes('tollgate_') && !text.includes(metricsToken) && !text.includes(proxy.running.adminToken));
    }
  });

  it('answers the metrics token with the text exposition format', async () => {
    const r = await scrape(bearer(metricsToken));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.match(await r.text(), /^# TYPE target_info gauge$/m);
    assert.equal((await scrape(bearer(metricsToken), { method: 'POST', body: 'x' })).status, 405);
  });

  it('is not a way into the admin API: the admin routes refuse the metrics token', async () => {
    for (const route of ['/_tollgate/state', '/_tollgate/health', '/_tollgate/decisions', '/_tollgate/metrics/', '/_tollgate/metrics/../state']) {
      const r = await fetch(`${proxy.url}${route}`, { headers: bearer(metricsToken) });
      assert.equal(r.status, 401, route);
    }
    assert.equal((await fetch(`${proxy.url}/_tollgate/health`, { headers: bearer(proxy.running.adminToken) })).status, 200);
  });

  it('is open with metrics_endpoint.auth none, and a reload switches it either way without a restart', async () => {
    assert.equal((await scrape()).status, 401);
    assert.ok(await proxy.running.server.reload(withTelemetry('  exported: [user-daily]\n  metrics_endpoint: { auth: none }\n')));
    assert.equal((await scrape()).status, 200);
    // The admin API still wants the admin token.
    assert.equal((await fetch(`${proxy.url}/_tollgate/state`)).status, 401);
    assert.ok(await proxy.running.server.reload(withTelemetry('  exported: [user-daily]\n')));
    assert.equal((await scrape()).status, 401);
  });

  it('labels Tollgate\'s own series with the pseudonym only where the bundle asks for per-person metrics, and follows a reload', async () => {
    const token = await proxy.token('bob@acme.dev', { agent: 'notebook' });
    const openai = new OpenAI({ apiKey: token, baseURL: `${proxy.url}/openai/v1`, maxRetries: 0 });
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    let text = await (await scrape(bearer(metricsToken))).text();
    assert.match(text, /^tollgate_decisions_total\{tollgate_outcome="allow",tollgate_rule="none",tollgate_provider="openai",otel_scope_name="tollgate",/m);
    assert.match(text, /^tollgate_accumulator_fill\{tollgate_rule="user-daily",tollgate_rule_kind="budget",tollgate_unit="usd",otel_scope_name/m);
    assert.ok(!text.includes('tollgate_person') && !text.includes('bob@acme.dev'));

    assert.ok(await proxy.running.server.reload(withTelemetry('  exported: [user-daily]\n  per_person_metrics: true\n')));
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    text = await (await scrape(bearer(metricsToken))).text();
    const pseudonym = /tollgate_person="(tg-[0-9a-f]{32})"/.exec(text)?.[1];
    assert.ok(pseudonym, 'a person label, the keyed pseudonym');
    assert.match(text, new RegExp(`^tollgate_accumulator_fill\\{tollgate_rule="user-daily",tollgate_rule_kind="budget",tollgate_unit="usd",tollgate_person="${pseudonym}"`, 'm'));
    assert.match(text, new RegExp(`^tollgate_spend_usd_total\\{[^}]*tollgate_agent="notebook"[^}]*tollgate_person="${pseudonym}"`, 'm'));
    assert.ok(!text.includes('bob@acme.dev'), 'never the address');
    // The GenAI conventions' metrics carry only the conventions' attributes.
    assert.ok(!/^gen_ai_client_token_usage_count\{[^}]*tollgate_person/m.test(text));
    // A change of labelling starts the series afresh: only the call made since is counted.
    assert.equal(/^tollgate_decisions_total\{[^}]*\} (\S+)$/m.exec(text)?.[1], '1');

    // Turned off again: every person-labelled series goes at once, without a restart.
    assert.ok(await proxy.running.server.reload(withTelemetry('  exported: [user-daily]\n')));
    text = await (await scrape(bearer(metricsToken))).text();
    assert.ok(!text.includes('tollgate_person') && !text.includes(pseudonym));
    assert.match(text, /^tollgate_accumulator_fill\{tollgate_rule="user-daily",tollgate_rule_kind="budget",tollgate_unit="usd",otel_scope_name/m);
  });

  it('refuses to start when the metrics token is readable by others', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-metrics-token-'));
    fs.writeFileSync(path.join(dataDir, 'metrics-token'), 'b'.repeat(64), { mode: 0o644 });
    fs.chmodSync(path.join(dataDir, 'metrics-token'), 0o644);
    await assert.rejects(startTestProxy(upstream, { dataDir }), (err: unknown) => LaunchError.is(err) && err.reason === 'data-dir' && err.message.includes('metrics-token'));
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses to start with a metrics token that is the admin token', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-metrics-token-'));
    const same = 'a'.repeat(64);
    fs.writeFileSync(path.join(dataDir, 'admin-token'), same, { mode: 0o600 });
    fs.writeFileSync(path.join(dataDir, 'metrics-token'), same, { mode: 0o600 });
    await assert.rejects(startTestProxy(upstream, { dataDir }), (err: unknown) => LaunchError.is(err) && err.reason === 'data-dir' && /metrics-token must hold a token .* other than the admin token/.test(err.message));
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});
