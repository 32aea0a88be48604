// Runs the editor suite under @vscode/test-electron: a downloaded VS Code (or the one named by
// TOLLGATE_VSCODE_EXECUTABLE) with this repository as the extension under development. Where VS
// Code cannot be downloaded (no internet: ENOTFOUND) it says so and exits 0 as skipped.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';
import { build } from 'esbuild';
import { MockUpstream } from '../helpers/mock-upstream';
import { approveUpstreamBeforehand, prepareWorkspace, writeUserSettings } from './workspace';

const repo = path.resolve(__dirname, '..', '..');
const offline = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ENETUNREACH|getaddrinfo/;

export type ElectronOutcome = { readonly ran: true } | { readonly ran: false; readonly why: string };

export async function runElectronSuite(): Promise<ElectronOutcome> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-electron-'));
  const suiteDir = path.join(repo, 'out', `editor-electron-${process.pid}`);
  const mock = new MockUpstream();
  try {
    await build({ entryPoints: [path.join(repo, 'test/editor/index.ts')], outfile: path.join(suiteDir, 'index.js'), bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['vscode', 'mocha'], logLevel: 'warning' });
    const workspace = path.join(tmp, 'workspace');
    const upstream = await mock.start();
    prepareWorkspace(workspace, upstream);
    const userData = path.join(tmp, 'user-data');
    writeUserSettings(userData);
    // Nobody answers a modal here: the mock's host is approved beforehand (code-server's run clicks it).
    approveUpstreamBeforehand(userData, workspace, upstream);
    const executable = process.env.TOLLGATE_VSCODE_EXECUTABLE;
    await runTests({
      ...(executable ? { vscodeExecutablePath: executable } : { version: '1.100.3' }),
      extensionDevelopmentPath: repo,
      extensionTestsPath: path.join(suiteDir, 'index.js'),
      launchArgs: [workspace, '--user-data-dir', userData, '--disable-workspace-trust', '--disable-extensions'],
    });
    return { ran: true };
  } catch (err) {
    const text = String((err as Error)?.stack ?? err);
    if (offline.test(text)) return { ran: false, why: `VS Code could not be downloaded here (${offline.exec(text)?.[0]}); the suite runs in code-server instead` };
    throw err;
  } finally {
    await mock.stop().catch(() => undefined);
    fs.rmSync(suiteDir, { recursive: true, force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runElectronSuite().then(
    (outcome) => {
      if (!outcome.ran) console.log(`editor suite under @vscode/test-electron skipped: ${outcome.why}`);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
