// The editor suite's entry: the `run()` contract @vscode/test-electron's extensionTestsPath uses,
// also called by the test-only host extension (test/editor/host) inside code-server. Bundled by
// esbuild to out/editor/index.js with `vscode` and `mocha` external (mocha resolves from the repo).

import Mocha from 'mocha';

export interface SuiteResult {
  readonly passed: string[];
  readonly failed: Array<{ title: string; error: string }>;
  readonly facts: Record<string, number | string>;
}

/** Which suite runs: `untrusted` for a workspace opened in Restricted Mode, else the main one. */
export const SUITE_ENV = 'TOLLGATE_EDITOR_SUITE_NAME';

/** Facts the suite measures (activation time) for the driver to report. */
export const facts: Record<string, number | string> = {};

export function runSuite(): Promise<SuiteResult> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 90_000, color: false, reporter: 'spec' });
  mocha.suite.emit('pre-require', globalThis, 'editor-suite', mocha);
  // Loaded after pre-require so describe/it exist; esbuild keeps these requires lazy. The driver
  // names the suite for a window it opened in Restricted Mode.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (process.env[SUITE_ENV] === 'untrusted') require('./suite/untrusted.test');
  else {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('./suite/extension.test');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('./suite/preview-roles.test');
  }
  return new Promise((resolve) => {
    const passed: string[] = [];
    const failed: Array<{ title: string; error: string }> = [];
    const runner = mocha.run(() => resolve({ passed, failed, facts }));
    runner.on('pass', (t) => passed.push(t.fullTitle()));
    runner.on('fail', (t, err: Error) => failed.push({ title: t.fullTitle(), error: `${err.message}\n${err.stack ?? ''}`.slice(0, 1500) }));
  });
}

export async function run(): Promise<void> {
  const result = await runSuite();
  if (result.failed.length > 0) throw new Error(`${result.failed.length} editor test(s) failed: ${result.failed.map((f) => f.title).join('; ')}`);
}
