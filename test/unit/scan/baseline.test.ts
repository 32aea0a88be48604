import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { addToBaseline, DEFAULT_BASELINE_FILE, readBaseline, readBaselineSync } from '../../../src/scan/baseline';
import { ScanError } from '../../../src/scan/errors';

const entry = (fingerprint: string, file = 'src/a.ts'): { fingerprint: string; rule: string; file: string; redacted: string } => ({ fingerprint, rule: 'github-pat', file, redacted: 'ghp_…' });

// A baseline left with a merge's conflict markers, as `git merge` writes it.
const conflicted = `{
  "version": 1,
  "findings": [
<<<<<<< HEAD
    { "fingerprint": "aaa", "rule": "github-pat", "file": "src/a.ts", "redacted": "ghp_…" }
=======
    { "fingerprint": "bbb", "rule": "github-pat", "file": "src/b.ts", "redacted": "ghp_…" }
>>>>>>> theirs
  ]
}
`;

describe('the baseline file', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-baseline-'));
    file = path.join(dir, DEFAULT_BASELINE_FILE);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('starts a baseline when there is none and adds each finding once, sorted', async () => {
    assert.equal(await readBaseline(file), undefined);
    assert.equal(await addToBaseline(file, entry('zzz', 'src/z.ts')), true);
    assert.equal(await addToBaseline(file, entry('aaa')), true);
    assert.equal(await addToBaseline(file, entry('aaa')), false);
    assert.deepEqual((await readBaseline(file))?.findings.map((f) => f.fingerprint), ['aaa', 'zzz']);
    assert.deepEqual(readBaselineSync(file), await readBaseline(file));
  });

  it('never writes over a baseline left with merge conflicts, and names the file and line', async () => {
    fs.writeFileSync(file, conflicted);
    await assert.rejects(addToBaseline(file, entry('ccc')), (err: unknown) => {
      assert.ok(ScanError.is(err, 'baseline-unreadable'), String(err));
      assert.match(err.message, new RegExp(`${DEFAULT_BASELINE_FILE.replace('.', '\\.')}:4: an unresolved merge conflict`));
      return true;
    });
    assert.equal(fs.readFileSync(file, 'utf8'), conflicted, 'the file is as the merge left it');
    assert.throws(() => readBaselineSync(file), (err: unknown) => ScanError.is(err, 'baseline-unreadable'));
  });

  it('names the line of a baseline that is not valid JSON', async () => {
    fs.writeFileSync(file, '{\n  "version": 1,\n  "findings": [,]\n}\n');
    await assert.rejects(readBaseline(file), /\.tollgate-baseline\.json:3: not valid JSON/);
    await assert.rejects(addToBaseline(file, entry('ccc')));
    assert.equal(fs.readFileSync(file, 'utf8'), '{\n  "version": 1,\n  "findings": [,]\n}\n');
  });
});
