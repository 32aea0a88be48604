// The extension in a real editor: packages the .vsix, installs it into a fresh code-server, opens
// the workbench in Debian's chromium, and runs the editor suite (test/editor) inside its extension
// host through a test-only extension. The browser side checks what only pixels show: the status
// bar item and the dashboard webview. Installs code-server and chromium on first use (minutes).

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { addUnpackedExtension, CodeServer, editorEnv, editorFolders, installEditor, installExtension, packageVsix, stopEditorRun } from '../e2e/code-server';
import type { EditorFolders } from '../e2e/code-server';
import { frameWith, launchBrowser, runCommand } from '../e2e/workbench';
import { APPROVE_NOW_FILE, DRIVER_ENV, EDITOR_MODEL, EDITOR_UPSTREAM_KEY, prepareWorkspace, writeUserSettings } from '../editor/workspace';
import type { SuiteResult } from '../editor/index';
import { MockUpstream } from '../helpers/mock-upstream';
import { eventually } from '../helpers/poll';

const repo = path.resolve(__dirname, '..', '..');
// Screenshots go to docs/images only when asked, so a test run never dirties the tree.
const screenshotDir = process.env.TOLLGATE_UPDATE_SCREENSHOTS === '1' ? path.join(repo, 'docs', 'images') : undefined;

describe('VS Code extension in a real editor (code-server + chromium)', function () {
  let tmp: string;
  let suiteDir: string | undefined;
  let folders: EditorFolders;
  let workspace: string;
  let results: string;
  let mock: MockUpstream;
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let suite: SuiteResult | undefined;
  let upstream: string;
  const timings: Record<string, number> = {};

  before(async function () {
    this.timeout(15 * 60_000); // the first run on a machine installs chromium and code-server
    let t = Date.now();
    const bin = installEditor();
    timings.installMs = Date.now() - t;

    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-editor-'));
    t = Date.now();
    // Inside the repository so the bundle's require('mocha') resolves; one folder per run.
    suiteDir = path.join(repo, 'out', `editor-${process.pid}`);
    await build({
      entryPoints: [path.join(repo, 'test/editor/index.ts')], outfile: path.join(suiteDir, 'index.js'),
      bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['vscode', 'mocha'], logLevel: 'warning',
    });
    const vsix = path.join(tmp, 'tollgate.vsix');
    packageVsix(repo, path.join(tmp, 'stage'), vsix);
    timings.packageMs = Date.now() - t;
    timings.vsixBytes = fs.statSync(vsix).size;

    mock = new MockUpstream();
    upstream = await mock.start();
    folders = editorFolders(path.join(tmp, 'editor'));
    workspace = path.join(tmp, 'workspace');
    prepareWorkspace(workspace, upstream);
    writeUserSettings(folders.userData);
    results = path.join(tmp, 'editor-results.json');
    const env = editorEnv(folders, { TOLLGATE_EDITOR_SUITE: path.join(suiteDir, 'index.js'), TOLLGATE_EDITOR_RESULTS: results, [DRIVER_ENV]: 'code-server' });

    t = Date.now();
    installExtension(bin, folders, vsix, env);
    addUnpackedExtension(folders, path.join(repo, 'test/editor/host'), 'tollgate.tollgate-editor-tests', '0.0.1');
    server = await CodeServer.start(bin, folders, workspace, env);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}`);
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    timings.workbenchMs = Date.now() - t;
  });

  after(async function () {
    this.timeout(60_000);
    if (Object.keys(timings).length > 0) console.log(`      editor e2e: ${JSON.stringify({ ...timings, ...(suite?.facts ?? {}) })}`);
    await stopEditorRun({ browser, server, mock, tmp, suiteDir });
  });

  it('shows the Tollgate status bar item with the running proxy', async function () {
    this.timeout(120_000);
    const t = Date.now();
    const item = page.locator('.statusbar-item', { hasText: 'Tollgate' }).first();
    await item.waitFor({ timeout: 90_000 });
    timings.statusBarMs = Date.now() - t;
    // Running: the item shows today's spend in dollars rather than "starting".
    await page.waitForFunction(() => Array.from(document.querySelectorAll(".statusbar-item")).some((e) => /Tollgate \$\d/.test(e.textContent ?? '')), undefined, { timeout: 60_000 });
  });

  it('asks in a modal, naming the host and the provider, before the stored key goes to the workspace’s upstream', async function () {
    this.timeout(240_000);
    // The suite first proves the key is withheld, then asks for the answer.
    const request = path.join(workspace, APPROVE_NOW_FILE);
    const deadline = Date.now() + 200_000;
    while (!fs.existsSync(request)) {
      if (fs.existsSync(results)) return; // the suite ended early; its failures are reported below
      if (Date.now() > deadline) throw new Error(`the suite never asked for the approval; see ${server?.log}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const host = new URL(upstream).host;
    const dialog = page.locator('.monaco-dialog-box', { hasText: `Send your openai API key to ${host}?` });
    await dialog.waitFor({ timeout: 30_000 });
    const text = (await dialog.textContent()) ?? '';
    assert.match(text, /not to api\.openai\.com/);
    assert.ok(!text.includes(EDITOR_UPSTREAM_KEY), 'the prompt never shows the key');
    await dialog.getByRole('button', { name: 'Allow for This Workspace' }).click();
    await dialog.waitFor({ state: 'hidden', timeout: 15_000 });
    const approvals = path.join(folders.userData, 'User', 'globalStorage', 'tollgate.tollgate', 'upstream-approvals.json');
    // The extension saves the answer after the dialog closes.
    await eventually(() => fs.existsSync(approvals), 'the approval to be saved', 15_000);
    const saved = JSON.parse(fs.readFileSync(approvals, 'utf8')) as { workspaces: Record<string, Array<{ provider: string; origin: string }>> };
    assert.ok(Object.values(saved.workspaces).flat().some((a) => a.provider === 'openai' && a.origin === upstream), 'the approval is remembered in the extension\'s storage');
  });

  it('passes the editor suite inside the extension host (terminal env, key quick fix, policy guard, quota preview)', async function () {
    this.timeout(300_000);
    const deadline = Date.now() + 280_000;
    while (!fs.existsSync(results)) {
      if (Date.now() > deadline) throw new Error(`the editor suite wrote no results; see ${server?.log}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    suite = JSON.parse(fs.readFileSync(results, 'utf8')) as SuiteResult;
    assert.deepEqual(suite.failed, [], suite.failed.map((f) => `${f.title}\n${f.error}`).join('\n\n'));
    for (const title of ['only once allowed', 'through an integrated terminal', 'planted key', 'bad policy edit', 'quota preview above a model call', 'entitled in the CodeLens and admitted by the proxy', 'not entitled in the CodeLens and refused by the proxy']) {
      assert.ok(suite.passed.some((p) => p.includes(title)), `ran: ${title} (passed: ${suite.passed.join('; ')})`);
    }
    const requests = mock.seen.filter((r) => r.url.includes('/chat/completions'));
    assert.ok(requests.length >= 3, `the terminal's requests reached the upstream (${requests.length})`);
    // The call made before the approval never reached the upstream; the first one after it carried the key.
    assert.equal(requests[0]!.headers.authorization, `Bearer ${EDITOR_UPSTREAM_KEY}`, 'the proxy swapped the session token for the key from SecretStorage, once approved');
    assert.equal(requests[0]!.headers['x-tollgate-user'], 'dev@example.test');
  });

  it('shows the request in the dashboard webview', async function () {
    this.timeout(120_000);
    await page.locator('.statusbar-item', { hasText: 'Tollgate' }).first().click();
    const frame = await frameWith(page, '[data-testid="recent"]', 60_000);
    const row = frame.locator('tr.decision', { hasText: EDITOR_MODEL }).first();
    await row.waitFor({ timeout: 30_000 });
    assert.match((await row.textContent()) ?? '', /dev@example\.test/);
    assert.match((await row.textContent()) ?? '', /allow/);
    await frame.locator('tr.bucket').first().waitFor({ timeout: 15_000 });
  });

  it('lists a key diagnostic in the Problems panel', async function () {
    this.timeout(60_000);
    await runCommand(page, 'View: Focus Problems');
    const problem = page.locator('.markers-panel .monaco-list-row', { hasText: 'OpenAI project API key' }).first();
    await problem.waitFor({ timeout: 30_000 });
    assert.doesNotMatch((await problem.textContent()) ?? '', /sk-proj-[A-Za-z0-9]{20}/, 'only the redacted form is shown');
    if (screenshotDir) await page.screenshot({ path: path.join(screenshotDir, 'key-diagnostic.png') });
  });
});
