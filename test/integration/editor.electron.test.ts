// The same editor suite under @vscode/test-electron, where a VS Code can be downloaded (or is
// named by TOLLGATE_VSCODE_EXECUTABLE). Offline it is skipped with the reason, not failed.

import { runElectronSuite } from '../editor/run-electron';

describe('VS Code extension under @vscode/test-electron', function () {
  it('passes the editor suite in a downloaded VS Code', async function () {
    this.timeout(10 * 60_000);
    const outcome = await runElectronSuite();
    if (!outcome.ran) {
      console.log(`      skipped: ${outcome.why}`);
      this.skip();
    }
  });
});
