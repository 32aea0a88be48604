// A signed-in window's credentials over their life, in the packaged .vsix in code-server driven by
// Chromium: a terminal's call works; `tollgate token revoke --user` from the command line is told
// in the editor at once and the terminal's next call is refused; "Tollgate: Sign Out" revokes the
// window's new token and leaves the status bar saying sign in and new terminals the placeholder;
// a burst past the bundle's divergence guard is told as a suspension naming the guard, the measure
// and how to resume, and `tollgate identity resume` clears it.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { SIGN_OUT_COMMAND } from '../../src/contracts/command-titles';
import { SIGN_IN_PLACEHOLDER } from '../../src/contracts/sign-in';
import { CodeServer, editorEnv, installExtension, prepareEditorInstall, stopEditorRun } from '../e2e/code-server';
import type { EditorInstall } from '../e2e/code-server';
import { launchBrowser, runCommand } from '../e2e/workbench';
import { EDITOR_MODEL, EDITOR_USER, EDITOR_UPSTREAM_KEY, approveUpstreamBeforehand, editorPolicy, prepareWorkspace, writeUserSettings } from '../editor/workspace';
import { runTollgate } from '../helpers/cli';
import { MockUpstream } from '../helpers/mock-upstream';
import { eventually } from '../helpers/poll';

const repo = path.resolve(__dirname, '..', '..');
// Screenshots go to docs/images only when asked, so a test run never dirties the tree.
const screenshotDir = process.env.TOLLGATE_UPDATE_SCREENSHOTS === '1' ? path.join(repo, 'docs', 'images') : undefined;
const RESULTS = 'call-results';
/** Past this many calls in the window the person is suspended (no history yet, so the floor decides). */
const FLOOR_CALLS = 3;

/** The editor's bundle with a divergence guard whose floor a few calls pass. */
function policyWithGuard(upstream: string): string {
  return `${editorPolicy(upstream)}guards:
  divergence:
    per: [user]
    measure: [calls]
    window: 1h
    baseline: 7d
    ratio: 10
    floor: { calls: ${FLOOR_CALLS} }
`;
}

/** What the terminal's call reports: which key it held and what the proxy answered. Never a key. */
interface CallResult {
  readonly key: 'placeholder' | 'upstream-key' | 'other' | 'none';
  readonly status: number | 'unconfigured' | 'error';
  readonly rule?: string | null;
  readonly message?: string;
}

/** The OpenAI SDK with its defaults, reading only the environment. */
function callScript(): string {
  return `const fs = require('node:fs');
const path = require('node:path');
const OpenAI = require(${JSON.stringify(path.join(repo, 'node_modules', 'openai'))});
const out = path.join(__dirname, ${JSON.stringify(RESULTS)}, process.argv[2] + '.json');
const key = process.env.OPENAI_API_KEY;
const facts = { key: key === ${JSON.stringify(SIGN_IN_PLACEHOLDER)} ? 'placeholder' : key === ${JSON.stringify(EDITOR_UPSTREAM_KEY)} ? 'upstream-key' : key ? 'other' : 'none' };
const done = (r) => { fs.mkdirSync(path.dirname(out), { recursive: true }); fs.writeFileSync(out + '.tmp', JSON.stringify({ ...facts, ...r })); fs.renameSync(out + '.tmp', out); };
if (!process.env.TOLLGATE_PROXY_URL) done({ status: 'unconfigured' });
else new OpenAI({ maxRetries: 0 }).chat.completions.create({ model: ${JSON.stringify(EDITOR_MODEL)}, messages: [{ role: 'user', content: 'hello' }], max_tokens: 5 })
  .then(() => done({ status: 200 }), (e) => done({ status: typeof e.status === 'number' ? e.status : 'error', rule: e.headers && e.headers.get ? e.headers.get('x-tollgate-rule') : null, message: (e.error && e.error.message) || e.message }));
`;
}

describe('VS Code extension: sign out, a revoked token and a suspension (code-server + chromium)', function () {
  let run: EditorInstall | undefined;
  let workspace: string;
  let mock: MockUpstream | undefined;
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let calls = 0;

  const dataDir = (): string => path.join(run!.folders.userData, 'User', 'globalStorage', 'tollgate.tollgate', 'proxy');

  /** The extension's own log (what "Tollgate: Show Log" shows). */
  function extensionLog(): string {
    const logs = path.join(run!.folders.userData, 'logs');
    if (!fs.existsSync(logs)) return '';
    let text = '';
    for (const session of fs.readdirSync(logs)) {
      const dir = path.join(logs, session);
      for (const host of fs.readdirSync(dir).filter((d) => d.startsWith('exthost'))) {
        const file = path.join(dir, host, 'tollgate.tollgate', 'Tollgate.log');
        if (fs.existsSync(file)) text += fs.readFileSync(file, 'utf8');
      }
    }
    return text;
  }

  /**
   * Runs the script in the active terminal and waits for its answer. Keys typed while focus moves
   * or before the shell reads can be lost: an interrupt clears a cut line
   * and the command is typed again (bounded).
   */
  async function callFromActiveTerminal(): Promise<CallResult> {
    const label = `call-${++calls}`;
    const file = path.join(workspace, RESULTS, `${label}.json`);
    for (let attempt = 0; attempt < 4; attempt++) {
      // A click at its left edge (the notification centre covers the right) gives the terminal the keyboard.
      await page.locator('.terminal-wrapper.active .xterm-screen').first().click({ position: { x: 8, y: 8 } });
      await page.locator('.terminal-wrapper.active .xterm-helper-textarea').first().focus();
      await page.keyboard.press('Control+C');
      await page.keyboard.type(`${process.execPath} call.cjs ${label}\n`);
      const answered = await eventually(() => fs.existsSync(file), `the terminal's call (${label})`, 45_000, 250).then(() => true, () => false);
      if (answered) return JSON.parse(fs.readFileSync(file, 'utf8')) as CallResult;
    }
    await page.screenshot({ path: path.join(run!.tmp, `${label}-failed.png`) });
    throw new Error(`the terminal's call (${label}) gave no answer`);
  }

  /** A new terminal, once the proxy runs; one opened before the environment reached the terminal host is replaced (bounded). */
  async function callFromNewTerminal(): Promise<CallResult> {
    await eventually(() => extensionLog().includes('proxy running'), 'the proxy to run (the Tollgate log)', 150_000, 500);
    for (let attempt = 0; attempt < 5; attempt++) {
      await runCommand(page, 'Terminal: Create New Terminal');
      await page.locator('.terminal-wrapper.active .xterm').first().waitFor({ timeout: 30_000 });
      const result = await callFromActiveTerminal();
      if (result.status !== 'unconfigured') return result;
      await page.waitForTimeout(1_000);
    }
    throw new Error('no terminal was pointed at the proxy');
  }

  /** A notification with this text: a toast, or (once the toast went) in the notification centre. */
  async function notice(text: string, timeoutMs: number): Promise<ReturnType<Page['locator']>> {
    const item = page.locator('.notification-list-item', { hasText: text }).first();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await item.count()) > 0) return item;
      const centre = page.locator('.notifications-center.visible');
      if ((await centre.count()) === 0) await page.keyboard.press('Escape').then(() => runCommand(page, 'Notifications: Show Notifications')).catch(() => undefined);
      await page.waitForTimeout(1_000);
    }
    throw new Error(`no notification saying '${text}' within ${timeoutMs} ms`);
  }

  async function clearNotices(): Promise<void> {
    await runCommand(page, 'Notifications: Clear All Notifications');
  }

  const statusItem = (text: string): ReturnType<Page['locator']> => page.locator('.statusbar-item', { hasText: text }).first();

  /** Answers the sign-in question with the developer's address. */
  async function signInWithAddress(question: ReturnType<Page['locator']>): Promise<void> {
    await question.getByRole('button', { name: 'Use an Address…' }).click();
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 15_000 });
    await input.fill(EDITOR_USER);
    await page.keyboard.press('Enter');
    await input.waitFor({ state: 'hidden', timeout: 15_000 });
    await page.waitForFunction(() => Array.from(document.querySelectorAll('.statusbar-item')).some((e) => /Tollgate \$\d/.test(e.textContent ?? '')), undefined, { timeout: 90_000 });
  }

  before(async function () {
    this.timeout(15 * 60_000); // the first run on a machine installs chromium and code-server
    run = prepareEditorInstall('tollgate-signout-');
    mock = new MockUpstream();
    const upstream = await mock.start();
    workspace = path.join(run.tmp, 'workspace');
    prepareWorkspace(workspace, upstream);
    fs.writeFileSync(path.join(workspace, 'tollgate.yaml'), policyWithGuard(upstream));
    fs.writeFileSync(path.join(workspace, 'call.cjs'), callScript());
    writeUserSettings(run.folders.userData);
    approveUpstreamBeforehand(run.folders.userData, workspace, upstream);
    const env = editorEnv(run.folders, {});
    env.OPENAI_API_KEY = EDITOR_UPSTREAM_KEY;
    installExtension(run.bin, run.folders, run.vsix, env);
    server = await CodeServer.start(run.bin, run.folders, workspace, env);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}`, { waitUntil: 'domcontentloaded', timeout: 120_000 });
    await page.locator('.monaco-workbench').waitFor({ timeout: 120_000 });
  });

  after(async function () {
    this.timeout(60_000);
    await stopEditorRun({ browser, server, mock, tmp: run?.tmp });
  });

  it('tells the window at once when its token is revoked from the command line; the terminal’s next call is refused', async function () {
    this.timeout(360_000);
    const first = await callFromNewTerminal();
    assert.deepEqual({ key: first.key, status: first.status }, { key: 'other', status: 200 }, first.message);

    const cli = await runTollgate(['token', 'revoke', '--user', EDITOR_USER, '--reason', 'laptop lost', '--data-dir', dataDir()]);
    assert.equal(cli.code, 0, cli.stderr);
    const revoked = await notice('your session token was revoked', 60_000);
    assert.match((await revoked.textContent()) ?? '', /every token of dev@example\.test: laptop lost/);
    await revoked.getByRole('button', { name: 'Sign In…' }).waitFor({ timeout: 5_000 });
    await statusItem('Tollgate: sign in').waitFor({ timeout: 30_000 });
    if (screenshotDir) await page.screenshot({ path: path.join(screenshotDir, 'revoked-notice.png') });

    const refused = await callFromActiveTerminal();
    assert.equal(refused.status, 401, refused.message);
    assert.equal(refused.rule, 'identity');
    assert.match(refused.message ?? '', /revoked/);

    // The notice's action signs in again: a new token, and a new terminal's call works.
    await revoked.getByRole('button', { name: 'Sign In…' }).click();
    await signInWithAddress(await notice('you are signed out', 30_000));
    await clearNotices();
    const again = await callFromNewTerminal();
    assert.deepEqual({ key: again.key, status: again.status }, { key: 'other', status: 200 }, again.message);
  });

  it('signs out from the palette: the window’s token is revoked, the status bar says sign in, new terminals get the placeholder', async function () {
    this.timeout(300_000);
    await runCommand(page, SIGN_OUT_COMMAND.title);
    const signedOut = await notice('signed out and revoked', 60_000);
    assert.match((await signedOut.textContent()) ?? '', /revoked \d+ session tokens? this window handed out/);
    await statusItem('Tollgate: sign in').waitFor({ timeout: 30_000 });
    const settings = fs.readFileSync(path.join(run!.folders.userData, 'User', 'settings.json'), 'utf8');
    assert.ok(!settings.includes('tollgate.user'), 'the address the sign-in kept is forgotten');
    const list = JSON.parse(fs.readFileSync(path.join(dataDir(), 'revocations.json'), 'utf8')) as { revocations: { target: string; reason: string | null }[] };
    assert.ok(list.revocations.some((r) => r.target === 'token' && r.reason === 'signed out in the editor'), 'revoked by token id in the data dir’s list');

    // The terminal opened before still holds the old token: refused as revoked.
    const old = await callFromActiveTerminal();
    assert.equal(old.status, 401, old.message);
    assert.match(old.message ?? '', /revoked/);
    const fresh = await callFromNewTerminal();
    assert.deepEqual({ key: fresh.key, status: fresh.status }, { key: 'placeholder', status: 401 }, fresh.message);
    await clearNotices();
  });

  it('warns of a suspension naming the guard, the measure and how to resume; the status bar says suspended until it is lifted', async function () {
    this.timeout(420_000);
    await statusItem('Tollgate: sign in').click();
    await signInWithAddress(await notice('you are signed out', 30_000));
    await clearNotices();
    const first = await callFromNewTerminal();
    assert.equal(first.status, 200, first.message);
    // Calls until the guard trips (bounded: the floor is a few calls).
    const warning = page.locator('.notification-list-item', { hasText: "guard 'divergence' suspended you" }).first();
    for (let i = 0; i < FLOOR_CALLS + 3 && (await warning.count()) === 0; i++) await callFromActiveTerminal();
    const suspended = await notice("guard 'divergence' suspended you", 60_000);
    const text = (await suspended.textContent()) ?? '';
    assert.match(text, /suspended you \(dev@example\.test\): \d+ calls in the window/);
    assert.match(text, /threshold 3 calls/);
    assert.match(text, /tollgate identity resume --user dev@example\.test/);
    await statusItem('Tollgate: suspended').waitFor({ timeout: 30_000 });
    if (screenshotDir) await page.screenshot({ path: path.join(screenshotDir, 'suspension-notice.png') });
    const refused = await callFromActiveTerminal();
    assert.equal(refused.status, 403, refused.message);
    assert.equal(refused.rule, 'divergence');

    const cli = await runTollgate(['identity', 'resume', '--user', EDITOR_USER, '--data-dir', dataDir()]);
    assert.equal(cli.code, 0, cli.stderr);
    await notice('suspension of you (dev@example.test)', 60_000);
    await page.waitForFunction(() => Array.from(document.querySelectorAll('.statusbar-item')).some((e) => /Tollgate \$\d/.test(e.textContent ?? '')), undefined, { timeout: 60_000 });
    assert.equal(await statusItem('Tollgate: suspended').count(), 0);
    const after = await callFromActiveTerminal();
    assert.equal(after.status, 200, after.message);
  });
});
