// A new developer's first window: the packaged .vsix in a fresh code-server profile whose git has no
// identity and whose settings name nobody, driven by Chromium. The editor asks at once; until it is
// answered, a terminal's SDK call is refused by the proxy with the way to sign in (and the key the
// editor inherited never reaches the terminal); after the address is given in the notification's
// input box, a new terminal's call goes through the proxy attributed to that address.

import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { SIGN_IN_COMMAND } from '../../src/contracts/command-titles';
import { SIGN_IN_PLACEHOLDER } from '../../src/contracts/sign-in';
import { CodeServer, editorEnv, installExtension, prepareEditorInstall, stopEditorRun } from '../e2e/code-server';
import type { EditorFolders } from '../e2e/code-server';
import { runCommand, launchBrowser } from '../e2e/workbench';
import { EDITOR_MODEL, EDITOR_UPSTREAM_KEY, approveUpstreamBeforehand, prepareWorkspace, writeUserSettings } from '../editor/workspace';
import { MockUpstream } from '../helpers/mock-upstream';
import { eventually } from '../helpers/poll';

const repo = path.resolve(__dirname, '..', '..');
// Screenshots go to docs/images only when asked, so a test run never dirties the tree.
const screenshotDir = process.env.TOLLGATE_UPDATE_SCREENSHOTS === '1' ? path.join(repo, 'docs', 'images') : undefined;
const ADDRESS = 'newcomer@example.test';
const RESULTS = 'call-results';

/** What the terminal's call reports: how its environment looked and what the proxy answered. Never a key. */
interface CallResult {
  readonly proxy: string | null;
  readonly key: 'placeholder' | 'upstream-key' | 'other' | 'none';
  readonly status: number | 'unconfigured' | 'error';
  readonly message?: string;
}

/** A script a developer might run: the OpenAI SDK with its defaults, reading only the environment. */
function callScript(): string {
  return `const fs = require('node:fs');
const path = require('node:path');
const OpenAI = require(${JSON.stringify(path.join(repo, 'node_modules', 'openai'))});
const out = path.join(__dirname, ${JSON.stringify(RESULTS)}, process.argv[2] + '.json');
const key = process.env.OPENAI_API_KEY;
const facts = { proxy: process.env.TOLLGATE_PROXY_URL ?? null, key: key === ${JSON.stringify(SIGN_IN_PLACEHOLDER)} ? 'placeholder' : key === ${JSON.stringify(EDITOR_UPSTREAM_KEY)} ? 'upstream-key' : key ? 'other' : 'none' };
const done = (r) => { fs.mkdirSync(path.dirname(out), { recursive: true }); fs.writeFileSync(out + '.tmp', JSON.stringify({ ...facts, ...r })); fs.renameSync(out + '.tmp', out); console.log('call:', r.status, r.message ?? ''); };
if (!facts.proxy) done({ status: 'unconfigured' });
else new OpenAI({ maxRetries: 0 }).chat.completions.create({ model: ${JSON.stringify(EDITOR_MODEL)}, messages: [{ role: 'user', content: 'hello' }], max_tokens: 5 })
  .then(() => done({ status: 200 }), (e) => done({ status: typeof e.status === 'number' ? e.status : 'error', message: (e.error && e.error.message) || e.message }));
`;
}

describe('VS Code extension with no identity, in a fresh profile (code-server + chromium)', function () {
  let tmp: string;
  let folders: EditorFolders;
  let workspace: string;
  let mock: MockUpstream;
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let calls = 0;

  /** The extension's own log (what "Tollgate: Show Log" shows) says the proxy runs. */
  function proxyRunning(): boolean {
    const logs = path.join(folders.userData, 'logs');
    if (!fs.existsSync(logs)) return false;
    for (const session of fs.readdirSync(logs)) {
      const dir = path.join(logs, session);
      for (const host of fs.readdirSync(dir).filter((d) => d.startsWith('exthost'))) {
        const file = path.join(dir, host, 'tollgate.tollgate', 'Tollgate.log');
        if (fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes('proxy running')) return true;
      }
    }
    return false;
  }

  /**
   * Opens a new terminal once the proxy runs and runs the script in it; a terminal opened before
   * the environment reached the terminal host is replaced by another (bounded).
   */
  async function callFromNewTerminal(): Promise<CallResult> {
    await eventually(proxyRunning, 'the proxy to run (the Tollgate log)', 150_000, 500);
    for (let attempt = 0; attempt < 5; attempt++) {
      const label = `call-${++calls}`;
      await runCommand(page, 'Terminal: Create New Terminal');
      await page.locator('.terminal-wrapper.active .xterm').first().waitFor({ timeout: 30_000 });
      await page.locator('.terminal-wrapper.active .xterm-helper-textarea').first().focus();
      await page.keyboard.type(`'${process.execPath}' call.cjs ${label}\n`);
      const file = path.join(workspace, RESULTS, `${label}.json`);
      await eventually(() => fs.existsSync(file), `the terminal's call (${label})`, 60_000, 250);
      const result = JSON.parse(fs.readFileSync(file, 'utf8')) as CallResult;
      if (result.status !== 'unconfigured') return result;
      await page.waitForTimeout(1_000);
    }
    throw new Error('no terminal was pointed at the proxy');
  }

  before(async function () {
    this.timeout(15 * 60_000); // the first run on a machine installs chromium and code-server
    const install = prepareEditorInstall('tollgate-identity-');
    const { bin, vsix } = install;
    ({ tmp, folders } = install);

    mock = new MockUpstream();
    const upstream = await mock.start();
    workspace = path.join(tmp, 'workspace');
    prepareWorkspace(workspace, upstream);
    fs.writeFileSync(path.join(workspace, 'call.cjs'), callScript());
    // Nobody named: the profile's settings leave tollgate.user out.
    writeUserSettings(folders.userData, { 'tollgate.user': undefined });
    // The mock's host was approved for the key, as a person would have done: not what this test is about.
    approveUpstreamBeforehand(folders.userData, workspace, upstream);
    const env = editorEnv(folders, {
      // git without an identity: no system or global file (the home is private too), no repository above.
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: path.join(folders.home, 'no-gitconfig'),
      GIT_CEILING_DIRECTORIES: tmp,
    });
    for (const k of ['GIT_CONFIG', 'GIT_DIR', 'GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_EMAIL', 'EMAIL']) delete env[k];
    // The key the editor (and so the proxy) inherits; its terminals inherit it too unless Tollgate replaces it.
    env.OPENAI_API_KEY = EDITOR_UPSTREAM_KEY;
    assert.throws(() => execFileSync('git', ['config', 'user.email'], { cwd: workspace, env, stdio: 'pipe' }), 'git has no user.email in this profile');

    installExtension(bin, folders, vsix, env);
    server = await CodeServer.start(bin, folders, workspace, env);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}`, { waitUntil: 'domcontentloaded', timeout: 120_000 });
    await page.locator('.monaco-workbench').waitFor({ timeout: 120_000 });
  });

  after(async function () {
    this.timeout(60_000);
    await stopEditorRun({ browser, server, mock, tmp });
  });

  it('asks at once, and the status bar says to sign in', async function () {
    this.timeout(180_000);
    const toast = page.locator('.notification-toast', { hasText: 'does not know who you are' });
    await toast.waitFor({ timeout: 150_000 });
    await toast.getByRole('button', { name: 'Use an Address…' }).waitFor({ timeout: 5_000 });
    await toast.getByRole('button', { name: 'Sign In with a Token…' }).waitFor({ timeout: 5_000 });
    const item = page.locator('.statusbar-item', { hasText: 'Tollgate: sign in' }).first();
    await item.waitFor({ timeout: 30_000 });
    if (screenshotDir) await page.screenshot({ path: path.join(screenshotDir, 'identity-prompt.png') });
  });

  it('refuses a terminal’s call before the answer, saying how to sign in; the inherited key never reaches the terminal', async function () {
    this.timeout(300_000);
    const result = await callFromNewTerminal();
    assert.equal(result.key, 'placeholder', 'the terminal holds the placeholder, not the key the editor inherited');
    assert.equal(result.status, 401);
    assert.ok(result.message?.includes(SIGN_IN_COMMAND.title), result.message);
    assert.equal(mock.seen.length, 0, 'nothing reached the provider');
  });

  it('takes an address from the notification’s input box and puts new terminals through the proxy as that person', async function () {
    this.timeout(240_000);
    // A toast with buttons goes to the notification centre after a while: the status bar item brings it back.
    const question = page.locator('.notification-list-item', { hasText: 'does not know who you are' }).first();
    if (!(await question.isVisible())) await page.locator('.statusbar-item', { hasText: 'Tollgate: sign in' }).first().click();
    await question.getByRole('button', { name: 'Use an Address…' }).click();
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 15_000 });
    await input.fill('not an address');
    await page.locator('.quick-input-widget .quick-input-message', { hasText: 'e-mail address' }).first().waitFor({ timeout: 15_000 });
    await input.fill(ADDRESS);
    await page.keyboard.press('Enter');
    await input.waitFor({ state: 'hidden', timeout: 15_000 });

    // Kept in the person's own settings, and the session started without a reload.
    const settings = path.join(folders.userData, 'User', 'settings.json');
    await eventually(() => fs.readFileSync(settings, 'utf8').includes(ADDRESS), 'tollgate.user in the user settings', 30_000, 250);
    await page.waitForFunction(() => Array.from(document.querySelectorAll('.statusbar-item')).some((e) => /Tollgate \$\d/.test(e.textContent ?? '')), undefined, { timeout: 90_000 });

    const result = await callFromNewTerminal();
    assert.equal(result.key, 'other', 'a session token, neither the placeholder nor the upstream key');
    assert.equal(result.status, 200, result.message);
    const call = mock.seen.find((r) => r.url.includes('/chat/completions'));
    assert.ok(call, 'the call reached the provider through the proxy');
    assert.equal(call.headers['x-tollgate-user'], ADDRESS);
    assert.equal(call.headers.authorization, `Bearer ${EDITOR_UPSTREAM_KEY}`, 'the proxy put the key in');
  });
});
