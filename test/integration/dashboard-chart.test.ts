// The "Spend over time" axis as a browser draws it, with one day of spend: `tollgate serve` with a
// mock upstream and a single call made with the official openai SDK, the page at /_tollgate/ in
// Debian's chromium. uPlot paints its axes on a canvas; the chart element carries the tick labels
// it painted (data-x-ticks) and the x scale's ends (data-x-range), which is what is read here.

import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import OpenAI from 'openai';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_TOKEN_FILE } from '../../src/contracts/admin';
import { launchBrowser } from '../e2e/workbench';
import { MockUpstream } from '../helpers/mock-upstream';
import { CLI, startServe } from '../helpers/serve-process';
import type { ServeProcess } from '../helpers/serve-process';

const repo = path.resolve(__dirname, '..', '..');
const DAY_MS = 86_400_000;

interface RenderedAxis {
  readonly ticks: string[];
  readonly range: [number, number];
}

async function renderedAxis(page: Page): Promise<RenderedAxis> {
  const chart = page.locator('[data-testid="spend-chart"][data-x-ticks]');
  await chart.waitFor({ timeout: 15_000 });
  const ticks = JSON.parse((await chart.getAttribute('data-x-ticks')) ?? '[]') as string[];
  const ends = JSON.parse((await chart.getAttribute('data-x-range')) ?? '[]') as (string | null)[];
  assert.ok(ends[0] && ends[1], `the x scale has two ends: ${JSON.stringify(ends)}`);
  return { ticks, range: [Date.parse(ends[0]), Date.parse(ends[1])] };
}

describe('the spend chart axis in a browser, with one day of spend (tollgate serve + chromium)', function () {
  this.timeout(120_000);
  let mock: MockUpstream;
  let dataDir: string;
  let serve: ServeProcess;
  let browser: Browser;
  let page: Page;
  let callTime = 0;

  before(async function () {
    this.timeout(15 * 60_000); // the first run on a machine installs chromium
    if (!process.env.TOLLGATE_CHROMIUM) execFileSync('bash', [path.join(repo, 'scripts', 'install-editor-deps.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
    mock = new MockUpstream();
    const upstream = await mock.start();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-chart-'));
    const policy = path.join(dataDir, 'tollgate.yaml');
    fs.copyFileSync(path.join(repo, 'policies', 'reference.yaml'), policy);
    serve = await startServe(['--data-dir', dataDir, '--upstream', `openai=${upstream}`, '--policy', policy]);
    const token = execFileSync(process.execPath, [CLI, 'token', '--user', 'alice@acme.dev', '--agent', 'notebook', '--data-dir', dataDir], { encoding: 'utf8' }).trim();
    callTime = Date.now();
    await new OpenAI({ apiKey: token, baseURL: `${serve.url}/openai/v1`, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${serve.url}/_tollgate/`);
    await page.locator('[data-testid="login"]').waitFor({ timeout: 15_000 });
    await page.fill('#token', fs.readFileSync(path.join(dataDir, ADMIN_TOKEN_FILE), 'utf8').trim());
    await page.click('button[type="submit"]');
    await page.locator('tr.decision', { hasText: 'alice@acme.dev' }).first().waitFor({ timeout: 15_000 });
  });

  after(async function () {
    this.timeout(30_000);
    await browser?.close().catch(() => undefined);
    if (serve) {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
    await mock?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('draws the one call inside a day-wide axis, labelled in hours of that day', async () => {
    const { ticks, range } = await renderedAxis(page);
    assert.ok(range[0] < callTime + 60_000 && callTime - 60_000 < range[1], `the call is inside the axis: ${new Date(range[0]).toISOString()} .. ${new Date(range[1]).toISOString()}`);
    assert.ok(range[1] - range[0] <= DAY_MS, `the axis is at most a day wide, not years: ${(range[1] - range[0]) / DAY_MS} days`);
    assert.ok(range[0] < callTime - 3_600_000 && range[1] > callTime + 3_600_000, 'with room either side, not at an edge');
    assert.ok(ticks.length >= 2, `several ticks: ${JSON.stringify(ticks)}`);
    assert.match(ticks[0]!, /^[A-Z][a-z]{2} \d{1,2} \d{2}:\d{2} UTC$/, `the first tick names the day: ${ticks[0]}`);
    for (const t of ticks.slice(1)) assert.match(t, /^\d{2}:\d{2}$/, `the others are times of day: ${JSON.stringify(ticks)}`);
    for (const t of ticks) assert.doesNotMatch(t, /20\d\d/, 'no tick names a year');
  });

  it('draws the per-person chart over the last 30 days, labelled in days', async () => {
    await page.selectOption('[data-testid="spend-breakdown"]', 'user');
    // The chart is drawn anew for the breakdown: wait for an axis without times of day.
    await page.locator('[data-testid="spend-chart"][data-x-ticks]:not([data-x-ticks*=":"])').waitFor({ timeout: 15_000 });
    const { ticks, range } = await renderedAxis(page);
    const today = Date.parse(`${new Date(callTime).toISOString().slice(0, 10)}T00:00:00Z`);
    assert.equal(range[1], today, 'ends at today');
    assert.equal(range[0], today - 29 * DAY_MS, 'begins 29 days earlier');
    assert.ok(ticks.length >= 2, `several ticks: ${JSON.stringify(ticks)}`);
    for (const t of ticks) assert.match(t, /^[A-Z][a-z]{2} \d{1,2}$/, `days: ${JSON.stringify(ticks)}`);
  });
});
