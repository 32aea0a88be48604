import assert from 'node:assert/strict';
import { runTollgate } from '../../helpers/cli';

describe('tollgate command line', () => {
  it('names an unknown command and exits 2', async () => {
    const r = await runTollgate(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command 'frobnicate'/);
  });
  it('serve refuses a --disk-reserve that is not a size (exit 2)', async () => {
    const r = await runTollgate(['serve', '--disk-reserve', 'plenty', '--port', '0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid size 'plenty'/);
  });
  it('prints its version', async () => {
    const r = await runTollgate(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});
