// The dashboard in a browser, driven in Debian's chromium with playwright-core: `tollgate serve` as
// a team gateway (its accumulators in Redis) with a mock upstream, the page at /_tollgate/, a wrong admin token refused, the right one let in,
// and calls made with the official openai SDK appearing live (an allowed call and a refusal) while
// the page stays loaded. Installs chromium on first use (scripts/install-editor-deps.sh).

import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import OpenAI from 'openai';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_TOKEN_FILE } from '../../src/contracts/admin';
import { dashboardPage, launchBrowser } from '../e2e/workbench';
import { MockUpstream } from '../helpers/mock-upstream';
import { startRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';
import { eventually } from '../helpers/poll';
import { CLI, startServe } from '../helpers/serve-process';
import type { ServeProcess } from '../helpers/serve-process';

const repo = path.resolve(__dirname, '..', '..');
// Screenshots go to docs/images only when asked, so a test run never dirties the tree.
const screenshotDir = process.env.TOLLGATE_UPDATE_SCREENSHOTS === '1' ? path.join(repo, 'docs', 'images') : undefined;

function tokenFor(dataDir: string, user: string, agent: string): string {
  return execFileSync(process.execPath, [CLI, 'token', '--user', user, '--agent', agent, '--data-dir', dataDir], { encoding: 'utf8' }).trim();
}

function client(url: string, token: string): OpenAI {
  return new OpenAI({ apiKey: token, baseURL: `${url}/openai/v1`, maxRetries: 0 });
}

/** A page of another origin, on another loopback port: what an attacker's site would be. */
async function foreignSite(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!DOCTYPE html><title>elsewhere</title><p>another origin</p>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('the dashboard in a browser (tollgate serve + chromium)', function () {
  this.timeout(120_000);
  let mock: MockUpstream;
  let redis: TestRedis;
  let dataDir: string;
  let serve: ServeProcess;
  let adminToken: string;
  let browser: Browser;
  let page: Page;
  const violations: string[] = [];
  const requestUrls: string[] = [];

  before(async function () {
    this.timeout(15 * 60_000); // the first run on a machine installs chromium
    if (!process.env.TOLLGATE_CHROMIUM) execFileSync('bash', [path.join(repo, 'scripts', 'install-editor-deps.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
    mock = new MockUpstream();
    const upstream = await mock.start();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-browser-'));
    // The reference bundle under the name a team gives it, so the page (and its screenshot) names that file.
    const policy = path.join(dataDir, 'tollgate.yaml');
    fs.copyFileSync(path.join(repo, 'policies', 'reference.yaml'), policy);
    redis = await startRedis();
    serve = await startServe(['--data-dir', dataDir, '--upstream', `openai=${upstream}`, '--policy', policy, '--store', `${redis.url}?namespace=dashboard-browser`]);
    adminToken = fs.readFileSync(path.join(dataDir, ADMIN_TOKEN_FILE), 'utf8').trim();
    browser = await launchBrowser();
    page = await dashboardPage(browser, violations);
    page.on('request', (r) => requestUrls.push(r.url()));
  });

  after(async function () {
    this.timeout(30_000);
    await browser?.close().catch(() => undefined);
    if (serve) {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
    await mock?.stop();
    await redis?.dispose();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('opens at /_tollgate and refuses a wrong admin token with a visible message', async () => {
    await page.goto(`${serve.url}/_tollgate`);
    assert.equal(new URL(page.url()).pathname, '/_tollgate/', 'redirected to the page');
    await page.locator('[data-testid="login"]').waitFor({ timeout: 15_000 });
    await page.fill('#token', 'not-the-admin-token');
    await page.click('button[type="submit"]');
    const error = page.locator('[data-testid="login-error"]');
    await error.waitFor({ timeout: 15_000 });
    assert.match((await error.textContent()) ?? '', /refused that token \(401\)/);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'a refused token is not kept');
    if (screenshotDir) await page.screenshot({ path: path.join(screenshotDir, 'browser-login.png') });
  });

  it('lets the admin token in, keeping it only in sessionStorage', async () => {
    // Some traffic first, from several people and agents, so the tables have rows.
    await client(serve.url, tokenFor(dataDir, 'bob@acme.dev', 'notebook')).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 });
    await client(serve.url, tokenFor(dataDir, 'carol@acme.dev', 'ci-review')).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 });
    await page.fill('#token', adminToken);
    await page.click('button[type="submit"]');
    await page.locator('[data-testid="recent"]').waitFor({ timeout: 15_000 });
    await page.locator('tr.decision', { hasText: 'carol@acme.dev' }).first().waitFor({ timeout: 15_000 });
    assert.match((await page.locator('[data-testid="proxy-phase"]').textContent()) ?? '', /gateway running/);
    const policy = (await page.locator('[data-testid="policy"]').textContent()) ?? '';
    assert.match(policy, /acme-ai-gateway/);
    assert.match(policy, /user-daily.*\$5 per day, then downgrade to gpt-4o-mini/, 'the budgets of the bundle in force are listed');
    assert.equal(await page.locator('button', { hasText: /^Log$/ }).count(), 0, "the editor's commands are not offered in a browser");
    const stored = await page.evaluate(() => ({ session: Object.keys(sessionStorage), local: localStorage.length, cookie: document.cookie }));
    assert.ok(stored.session.includes('tollgate.adminToken'));
    assert.equal(stored.local, 0);
    assert.equal(stored.cookie, '');
  });

  it('shows a call made now, and a refusal, without reloading the page', async () => {
    await page.evaluate(() => ((window as unknown as { sameLoad: boolean }).sameLoad = true));
    const alice = client(serve.url, tokenFor(dataDir, 'alice@acme.dev', 'notebook'));
    const allowed = await alice.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'summarise the quarter' }], max_tokens: 20 }).withResponse();
    const allowedId = allowed.response.headers.get('x-tollgate-decision');
    assert.ok(allowedId);
    await page.locator(`tr.decision[data-decision-id="${allowedId}"]`).waitFor({ timeout: 15_000 });
    assert.match((await page.locator(`tr.decision[data-decision-id="${allowedId}"]`).textContent()) ?? '', /alice@acme\.dev \/ notebook.*gpt-4o-mini.*allow/);

    // alice's role is not entitled to gpt-4o: refused before any upstream call.
    const refusal = await alice.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 }).then(
      () => assert.fail('the call should have been refused'),
      (err: unknown) => err as InstanceType<typeof OpenAI.APIError>,
    );
    assert.equal(refusal.status, 403);
    const refusedId = refusal.headers?.get('x-tollgate-decision');
    assert.ok(refusedId);
    const row = page.locator(`[data-testid="refusals"] tr.refusal[data-decision-id="${refusedId}"]`);
    await row.waitFor({ timeout: 15_000 });
    assert.match((await row.textContent()) ?? '', /alice@acme\.dev.*gpt-4o.*entitlements/);
    assert.match((await page.locator(`tr.decision[data-decision-id="${refusedId}"]`).textContent()) ?? '', /refuse/);
    assert.equal(await page.evaluate(() => (window as unknown as { sameLoad?: boolean }).sameLoad), true, 'the page was not reloaded');
    await page.locator('[data-testid="spend-person"] td', { hasText: 'alice@acme.dev' }).first().waitFor({ timeout: 15_000 });
    // Spend over time, one line per person.
    await page.selectOption('[data-testid="spend-breakdown"]', 'user');
    const legend = page.locator('[data-testid="spend-chart"] .u-legend');
    await legend.waitFor({ timeout: 15_000 });
    for (const person of ['alice@acme.dev', 'bob@acme.dev', 'carol@acme.dev']) assert.match((await legend.textContent()) ?? '', new RegExp(person.replace(/\./g, '\\.')));
    if (screenshotDir) await page.screenshot({ path: path.join(screenshotDir, 'browser-dashboard.png'), fullPage: true });
  });

  it('shows a hostile model name as text: no markup from a caller reaches the page', async () => {
    const hostile = '<img src=x onerror="window.pwned=1">';
    const refusal = await client(serve.url, tokenFor(dataDir, 'alice@acme.dev', 'notebook'))
      .chat.completions.create({ model: hostile, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 })
      .then(() => assert.fail('the model is not entitled'), (err: unknown) => err as InstanceType<typeof OpenAI.APIError>);
    const id = refusal.headers?.get('x-tollgate-decision');
    assert.ok(id);
    const row = page.locator(`[data-testid="refusals"] tr.refusal[data-decision-id="${id}"]`);
    await row.waitFor({ timeout: 15_000 });
    assert.ok(((await row.textContent()) ?? '').includes(hostile), 'the name is shown as it was sent');
    assert.equal(await page.locator('main img').count(), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned), undefined);
  });

  it('raised no CSP violation and put the token in no URL or log', async () => {
    const inPage = await page.evaluate(() => (window as unknown as { cspViolations?: string[] }).cspViolations ?? []);
    assert.deepEqual([...violations, ...inPage], []);
    assert.ok(requestUrls.length > 0);
    for (const u of requestUrls) assert.ok(!u.includes(adminToken) && !u.includes('not-the-admin-token'), u);
    assert.ok(!serve.stderr().includes(adminToken), 'the admin token is not logged');
  });

  it('signs out: the token is forgotten and the form is back', async () => {
    await page.click('[data-testid="sign-out"]');
    await page.locator('[data-testid="login"]').waitFor({ timeout: 15_000 });
    assert.equal(await page.evaluate(() => sessionStorage.getItem('tollgate.adminToken')), null);
  });

  it('gives a page of another origin nothing, even holding the token', async () => {
    const site = await foreignSite();
    try {
      const other = await browser.newPage();
      await other.goto(site.url);
      const outcome = await other.evaluate(
        async ([gateway, token]) => {
          const tries: string[] = [];
          for (const route of ['/_tollgate/state', '/_tollgate/events']) {
            try {
              const r = await fetch(`${gateway}${route}`, { headers: { authorization: `Bearer ${token}` } });
              tries.push(`${route} read ${r.status}`);
            } catch {
              tries.push(`${route} blocked`);
            }
          }
          return tries;
        },
        [serve.url, adminToken] as const,
      );
      assert.deepEqual(outcome, ['/_tollgate/state blocked', '/_tollgate/events blocked']);
      await other.close();
    } finally {
      await site.close();
    }
  });

  it('stays refused when the token is wrong at the API too (401) and when a page of another origin asks (403)', async () => {
    const wrong = await fetch(`${serve.url}/_tollgate/state`, { headers: { authorization: 'Bearer wrong' } });
    assert.equal(wrong.status, 401);
    await wrong.text();
    const foreign = await fetch(`${serve.url}/_tollgate/state`, { headers: { authorization: `Bearer ${adminToken}`, origin: 'http://evil.example' } });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);
    await foreign.text();
    await eventually(() => serve.child.exitCode === null, 'the gateway is still running');
  });
});
