// The dashboard of the packaged extension in a real editor: the .vsix installed into a fresh
// code-server, the workbench in Debian's chromium. People call through the editor's proxy with the
// official openai SDK (tokens minted from its data dir); the dashboard webview then draws one day of
// spend, and after code-server (the editor and its proxy) restarts on the same data dir, it lists
// every accumulator the ledger holds state for before any new call. What is checked is what the
// webview renders: its bucket rows and the axis the spend chart drew. Installs code-server and
// chromium on first use (minutes).

import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import OpenAI from 'openai';
import type { Browser, Frame, Page } from 'playwright-core';
import { CodeServer, editorEnv, freePort, installExtension, prepareEditorInstall, stopEditorRun } from '../e2e/code-server';
import type { EditorFolders } from '../e2e/code-server';
import { frameWith, launchBrowser, runCommand } from '../e2e/workbench';
import { approveUpstreamBeforehand, EDITOR_MODEL, EDITOR_UPSTREAM_KEY, prepareWorkspace, writeUserSettings } from '../editor/workspace';
import { MockUpstream } from '../helpers/mock-upstream';
import { CLI } from '../helpers/serve-process';

const repo = path.resolve(__dirname, '..', '..');
// Screenshots go to docs/images only when asked, so a test run never dirties the tree.
const screenshotDir = process.env.TOLLGATE_UPDATE_SCREENSHOTS === '1' ? path.join(repo, 'docs', 'images') : undefined;
const DAY_MS = 86_400_000;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Who calls through the editor's proxy before the restart: people, their agents, how many calls. */
const CALLERS = [
  { user: 'alice@acme.dev', agent: 'notebook', calls: 2 },
  { user: 'bob@acme.dev', agent: 'cli', calls: 1 },
  { user: 'carol@acme.dev', agent: 'ci', calls: 1 },
] as const;

interface RenderedAxis {
  readonly ticks: string[];
  readonly range: [number, number];
}

/** The x axis the chart drew: its tick labels and the scale's ends, from the chart element (the axis itself is painted on a canvas). */
async function renderedAxis(frame: Frame): Promise<RenderedAxis> {
  const chart = frame.locator('[data-testid="spend-chart"][data-x-ticks]');
  await chart.waitFor({ timeout: 60_000 });
  const ticks = JSON.parse((await chart.getAttribute('data-x-ticks')) ?? '[]') as string[];
  const ends = JSON.parse((await chart.getAttribute('data-x-range')) ?? '[]') as (string | null)[];
  assert.ok(ends[0] && ends[1], `the x scale has two ends: ${JSON.stringify(ends)}`);
  return { ticks, range: [Date.parse(ends[0]), Date.parse(ends[1])] };
}

/**
 * The instants the tick labels name, with each label's precision: the first names its day
 * ("Nov 27 17:50 UTC" or "Nov 27 17:50:03 UTC"), the others a time of that day, or of the next
 * when the clock wraps. The year is the axis's, as the labels name none.
 */
function tickInstants(ticks: readonly string[], year: number): { at: number; precisionMs: number }[] {
  const first = /^([A-Z][a-z]{2}) (\d{1,2}) (\d{2}):(\d{2})(?::(\d{2}))? UTC$/.exec(ticks[0] ?? '');
  assert.ok(first, `the first tick names its day and time: ${JSON.stringify(ticks)}`);
  let day = Date.UTC(year, MONTHS.indexOf(first[1]!), Number(first[2]));
  let previous = -1;
  return ticks.map((label, i) => {
    const time = i === 0 ? first.slice(3) : /^(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(label)?.slice(1);
    assert.ok(time, `tick ${i} is a time of day: ${JSON.stringify(ticks)}`);
    const ofDay = (Number(time[0]) * 3600 + Number(time[1]) * 60 + Number(time[2] ?? 0)) * 1000;
    if (ofDay < previous) day += DAY_MS;
    previous = ofDay;
    return { at: day + ofDay, precisionMs: time[2] === undefined ? 60_000 : 1_000 };
  });
}

/** The chart spans the calls made between `from` and `to`, and each tick lies on that span. */
function assertAxisSpansCalls(axis: RenderedAxis, from: number, to: number): void {
  const [min, max] = axis.range;
  const iso = (t: number): string => new Date(t).toISOString();
  assert.ok(min < max, `the axis has a width: ${iso(min)} .. ${iso(max)}`);
  // The proxy stamps each decision between the first call's start and the last call's end (same clock).
  assert.ok(min >= from - 1_000 && max <= to + 1_000, `the axis spans the calls (${iso(from)} .. ${iso(to)}), not years: ${iso(min)} .. ${iso(max)}`);
  assert.ok(max - min <= DAY_MS, 'within one day');
  assert.ok(axis.ticks.length >= 2, `several ticks: ${JSON.stringify(axis.ticks)}`);
  assert.equal(new Set(axis.ticks).size, axis.ticks.length, `no label repeats: ${JSON.stringify(axis.ticks)}`);
  for (const t of axis.ticks) assert.doesNotMatch(t, /20\d\d/, 'no tick names a year');
  const callDay = new Date(from).toISOString().slice(0, 10);
  for (const [i, { at, precisionMs }] of tickInstants(axis.ticks, new Date(min).getUTCFullYear()).entries()) {
    // A label is its tick's instant cut to the minute or the second.
    assert.ok(at + precisionMs > min && at <= max, `tick ${axis.ticks[i]} lies on the axis ${iso(min)} .. ${iso(max)}`);
    if (new Date(to).toISOString().slice(0, 10) === callDay) assert.equal(new Date(at).toISOString().slice(0, 10), callDay, `tick ${axis.ticks[i]} is on the calls' day`);
  }
}

/**
 * The axis once it spans the calls: the chart is drawn anew as the decisions arrive, so an earlier
 * drawing (the first call alone, say) may be read first. Fails with what the last drawing showed.
 */
async function axisSpanningCalls(frame: Frame, from: number, to: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const axis = await renderedAxis(frame);
    try {
      return assertAxisSpansCalls(axis, from, to);
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    await frame.page().waitForTimeout(500);
  }
}

/** The dashboard's bucket rows as "rule key" (limits and budgets), once at least `atLeast` are drawn. */
async function bucketRows(frame: Frame, atLeast: number): Promise<string[]> {
  await frame.waitForFunction((n) => document.querySelectorAll('tr.bucket').length >= n, atLeast, { timeout: 60_000 });
  return frame.locator('tr.bucket').evaluateAll((rows) => rows.map((r) => Array.from(r.querySelectorAll('td')).slice(0, 2).map((td) => td.textContent?.trim() ?? '').join(' ')));
}

describe('the dashboard of the packaged extension in a real editor (code-server + chromium)', function () {
  let tmp: string;
  let bin: string;
  let folders: EditorFolders;
  let workspace: string;
  let env: NodeJS.ProcessEnv;
  let dataDir: string;
  let proxyUrl: string;
  let mock: MockUpstream;
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let callsFrom = 0;
  let callsTo = 0;
  let listedBefore: string[] = [];

  /** Starts code-server on the folders, opens the workbench and waits for the Tollgate item to show the running proxy. */
  async function openEditor(): Promise<void> {
    server = await CodeServer.start(bin, folders, workspace, env);
    page = await browser!.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}`);
    await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
    await page.waitForFunction(() => Array.from(document.querySelectorAll('.statusbar-item')).some((e) => /Tollgate \$\d/.test(e.textContent ?? '')), undefined, { timeout: 120_000 });
  }

  /** Opens the dashboard from the status bar and returns the webview frame once it shows decisions. */
  async function openDashboard(): Promise<Frame> {
    await page.locator('.statusbar-item', { hasText: 'Tollgate' }).first().click();
    const frame = await frameWith(page, '[data-testid="recent"]', 90_000);
    await frame.locator('tr.decision').first().waitFor({ timeout: 60_000 });
    return frame;
  }

  before(async function () {
    this.timeout(15 * 60_000); // the first run on a machine installs chromium and code-server
    const install = prepareEditorInstall('tollgate-editor-dashboard-');
    const { vsix } = install;
    ({ bin, tmp, folders } = install);

    mock = new MockUpstream();
    const upstream = await mock.start();
    workspace = path.join(tmp, 'workspace');
    prepareWorkspace(workspace, upstream);
    // A data dir and a port of the test's choosing: the tokens are minted from the one, the
    // browser dashboard is asked for on the other, and both outlive the restart.
    dataDir = path.join(tmp, 'proxy-data');
    const port = await freePort();
    proxyUrl = `http://127.0.0.1:${port}`;
    writeUserSettings(folders.userData, { 'tollgate.proxy.dataDir': dataDir, 'tollgate.proxy.port': port });
    approveUpstreamBeforehand(folders.userData, workspace, upstream);
    env = editorEnv(folders, {});
    // The provider key the proxy sends to the mock, as a developer's environment would hold it.
    env.OPENAI_API_KEY = EDITOR_UPSTREAM_KEY;
    installExtension(bin, folders, vsix, env);
    browser = await launchBrowser();
    await openEditor();
  });

  after(async function () {
    this.timeout(60_000);
    await stopEditorRun({ browser, server, mock, tmp });
  });

  it('serves the browser dashboard from the packaged files on the editor’s proxy', async function () {
    this.timeout(60_000);
    const res = await fetch(`${proxyUrl}/_tollgate/`);
    const html = await res.text();
    assert.equal(res.status, 200, `the page, not "${html.trim()}"`);
    const named = [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(named.length >= 2, `the page names its script and stylesheet: ${JSON.stringify(named)}`);
    for (const ref of named) {
      const asset = await fetch(new URL(ref, `${proxyUrl}/_tollgate/`));
      assert.equal(asset.status, 200, `${ref} is served`);
      assert.ok((await asset.arrayBuffer()).byteLength > 0, `${ref} is not empty`);
    }
  });

  it('draws one day of spend on an axis that spans the calls, its ticks within their day', async function () {
    this.timeout(240_000);
    callsFrom = Date.now();
    for (const c of CALLERS) {
      const token = execFileSync(process.execPath, [CLI, 'token', '--user', c.user, '--agent', c.agent, '--data-dir', dataDir], { encoding: 'utf8' }).trim();
      const client = new OpenAI({ apiKey: token, baseURL: `${proxyUrl}/openai/v1`, maxRetries: 0 });
      for (let i = 0; i < c.calls; i++) await client.chat.completions.create({ model: EDITOR_MODEL, messages: [{ role: 'user', content: `hello from ${c.agent}` }], max_tokens: 20 });
    }
    callsTo = Date.now();
    assert.equal(mock.seen.filter((r) => r.url.includes('/chat/completions')).length, CALLERS.reduce((n, c) => n + c.calls, 0), 'every call reached the upstream through the editor’s proxy');

    const frame = await openDashboard();
    for (const c of CALLERS) await frame.locator('tr.decision', { hasText: c.user }).first().waitFor({ timeout: 60_000 });
    await axisSpanningCalls(frame, callsFrom, callsTo);
    // Every person and agent that called has its accumulators listed.
    listedBefore = await bucketRows(frame, CALLERS.length * 2);
    for (const c of CALLERS) {
      assert.ok(listedBefore.includes(`user-daily user:${c.user}`), `the budget of ${c.user} is listed: ${JSON.stringify(listedBefore)}`);
      assert.ok(listedBefore.includes(`agent-burst agent:${c.user}/${c.agent}`), `the agent limit of ${c.user}/${c.agent} is listed: ${JSON.stringify(listedBefore)}`);
    }
  });

  it('after the editor and its proxy restart, lists every accumulator with state before any new call', async function () {
    this.timeout(300_000);
    assert.ok(listedBefore.length > 0, 'the rows before the restart were read');
    await page.close();
    await server!.stop();
    server = undefined;
    const seen = mock.seen.length;

    await openEditor();
    // The dashboard alone in the window, as a person reading it would have it (and as the screenshot shows it).
    await runCommand(page, 'View: Close Primary Side Bar');
    await page.locator('.part.sidebar').waitFor({ state: 'hidden', timeout: 30_000 });
    const frame = await openDashboard();
    const listedAfter = await bucketRows(frame, listedBefore.length);
    assert.deepEqual([...listedAfter].sort(), [...listedBefore].sort(), 'the same accumulators as before the restart, restored from the ledger');
    assert.equal(mock.seen.length, seen, 'no call was made since the restart');
    // The day's spend is still drawn from the ledger, on the same axis.
    await axisSpanningCalls(frame, callsFrom, callsTo);
    if (screenshotDir) await page.screenshot({ path: path.join(screenshotDir, 'dashboard.png') });
  });
});
