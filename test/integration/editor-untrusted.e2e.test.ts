// The extension in a folder opened in Restricted Mode: code-server with workspace trust on and a
// cloned repository that wants the person's keys (its tollgate.yaml and settings.json send the
// providers to a mock of its choosing). The suite inside the extension host (test/editor/suite/
// untrusted.test.ts) checks what Tollgate runs; the browser side dismisses the approval prompt.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { addUnpackedExtension, CodeServer, editorEnv, editorFolders, installEditor, installExtension, packageVsix, stopEditorRun } from '../e2e/code-server';
import type { EditorFolders } from '../e2e/code-server';
import { launchBrowser } from '../e2e/workbench';
import { SUITE_ENV } from '../editor/index';
import type { SuiteResult } from '../editor/index';
import { DECLINE_NOW_FILE, EDITOR_UPSTREAM_KEY, prepareUntrustedWorkspace, writeUserSettings } from '../editor/workspace';
import { MockUpstream } from '../helpers/mock-upstream';

const repo = path.resolve(__dirname, '..', '..');

describe('VS Code extension in an untrusted workspace (code-server + chromium)', function () {
  let tmp: string;
  let suiteDir: string | undefined;
  let folders: EditorFolders;
  let workspace: string;
  let results: string;
  let mock: MockUpstream;
  let upstream: string;
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page;

  before(async function () {
    this.timeout(15 * 60_000);
    const bin = installEditor();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-untrusted-'));
    suiteDir = path.join(repo, 'out', `editor-untrusted-${process.pid}`);
    await build({
      entryPoints: [path.join(repo, 'test/editor/index.ts')], outfile: path.join(suiteDir, 'index.js'),
      bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['vscode', 'mocha'], logLevel: 'warning',
    });
    const vsix = path.join(tmp, 'tollgate.vsix');
    packageVsix(repo, path.join(tmp, 'stage'), vsix);

    mock = new MockUpstream();
    upstream = await mock.start();
    folders = editorFolders(path.join(tmp, 'editor'));
    workspace = path.join(tmp, 'cloned-repository');
    prepareUntrustedWorkspace(workspace, upstream);
    // Trust on, no startup question: a new folder opens in Restricted Mode. The person's own
    // settings send anthropic to the mock too (a host they will be asked about).
    writeUserSettings(folders.userData, {
      'security.workspace.trust.enabled': true,
      'security.workspace.trust.startupPrompt': 'never',
      'tollgate.proxy.upstreams': { anthropic: upstream },
    });
    results = path.join(tmp, 'editor-results.json');
    const env = editorEnv(folders, { TOLLGATE_EDITOR_SUITE: path.join(suiteDir, 'index.js'), TOLLGATE_EDITOR_RESULTS: results, [SUITE_ENV]: 'untrusted' });
    installExtension(bin, folders, vsix, env);
    addUnpackedExtension(folders, path.join(repo, 'test/editor/host'), 'tollgate.tollgate-editor-tests', '0.0.1');
    server = await CodeServer.start(bin, folders, workspace, env, { workspaceTrust: true });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}`);
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  });

  after(async function () {
    this.timeout(60_000);
    await stopEditorRun({ browser, server, mock, tmp, suiteDir });
  });

  it('opens the repository in Restricted Mode with Tollgate running', async function () {
    this.timeout(180_000);
    await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor({ timeout: 90_000 });
    await page.waitForFunction(() => Array.from(document.querySelectorAll('.statusbar-item')).some((e) => /Tollgate \$\d/.test(e.textContent ?? '')), undefined, { timeout: 120_000 });
  });

  it('asks in a modal before a key goes to a host that is not the provider’s own, and withholds it when dismissed', async function () {
    this.timeout(240_000);
    const request = path.join(workspace, DECLINE_NOW_FILE);
    const deadline = Date.now() + 200_000;
    while (!fs.existsSync(request)) {
      if (fs.existsSync(results)) return; // the suite ended early; its failures are reported below
      if (Date.now() > deadline) throw new Error(`the suite never asked for the answer; see ${server?.log}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const dialog = page.locator('.monaco-dialog-box', { hasText: `Send your anthropic API key to ${new URL(upstream).host}?` });
    await dialog.waitFor({ timeout: 30_000 });
    assert.match((await dialog.textContent()) ?? '', /not to api\.anthropic\.com/);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden', timeout: 15_000 });
    fs.rmSync(request);
  });

  it('passes the untrusted-workspace suite inside the extension host, and no key reached the workspace’s host', async function () {
    this.timeout(300_000);
    const deadline = Date.now() + 280_000;
    while (!fs.existsSync(results)) {
      if (Date.now() > deadline) throw new Error(`the editor suite wrote no results; see ${server?.log}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const suite = JSON.parse(fs.readFileSync(results, 'utf8')) as SuiteResult;
    assert.deepEqual(suite.failed, [], suite.failed.map((f) => `${f.title}\n${f.error}`).join('\n\n'));
    assert.equal(suite.passed.length, 3, suite.passed.join('; '));
    assert.equal(mock.seen.length, 0, 'nothing reached the host the repository chose');
    assert.ok(!JSON.stringify(mock.seen).includes(EDITOR_UPSTREAM_KEY));
  });
});
