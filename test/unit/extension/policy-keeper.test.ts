import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PolicyKeeper, choosePolicyFile, writeFileAtomic } from '../../../src/extension/core/policy-keeper';
import { editorPolicy } from '../../editor/workspace';

const good = editorPolicy('http://127.0.0.1:9');
const bad = good.replace('downgrade_to: gpt-4o-mini', 'downgrade_to: gpt-9-turbo');
const badLine = bad.split('\n').findIndex((l) => l.includes('gpt-9-turbo')) + 1;

describe('policy in force (PolicyKeeper)', () => {
  it('accepts a bundle that loads and puts it in force', () => {
    const k = new PolicyKeeper();
    const v = k.offer(good, '/w/tollgate.yaml');
    assert.equal(v.accepted, true);
    assert.equal(k.inForce?.policy.name, 'editor-e2e');
    assert.equal(k.rejected, undefined);
  });

  it('refuses a bad edit at its line and keeps the last good bundle in force', () => {
    const k = new PolicyKeeper();
    k.offer(good, '/w/tollgate.yaml');
    const hash = k.inForce?.policy.hash;
    const v = k.offer(bad, '/w/tollgate.yaml');
    assert.equal(v.accepted, false);
    const error = v.issues.find((i) => i.severity === 'error');
    assert.equal(error?.position.line, badLine);
    assert.match(error?.message ?? '', /gpt-9-turbo/);
    assert.equal(k.inForce?.policy.hash, hash, 'the previous bundle stays');
    assert.equal(v.inForce?.policy.hash, hash);
    assert.match(k.rejected?.errors[0] ?? '', new RegExp(`^tollgate\\.yaml:${badLine}:\\d+: downgrade_to`));
    k.offer(good, '/w/tollgate.yaml');
    assert.equal(k.rejected, undefined, 'fixing the file clears the refusal');
  });

  it('with nothing in force, a bad bundle leaves nothing in force (never fails open)', () => {
    const k = new PolicyKeeper();
    assert.equal(k.offer('version: 1\nname: [oops', '/w/tollgate.yaml').accepted, false);
    assert.equal(k.inForce, undefined);
  });

  it('checks text without changing what is in force (live diagnostics)', () => {
    const k = new PolicyKeeper();
    k.offer(good, 'x');
    assert.ok(PolicyKeeper.check(bad).some((i) => i.severity === 'error' && i.position.line === badLine));
    assert.equal(k.rejected, undefined);
  });

  it('chooses the setting, then the workspace tollgate.yaml, then the reference bundle', () => {
    const exists = (f: string): boolean => f === path.join('/b', 'tollgate.yaml') || f === path.join('/b', 'team.yaml');
    assert.equal(choosePolicyFile('/abs/p.yaml', ['/a'], '/ref.yaml', exists), '/abs/p.yaml');
    assert.equal(choosePolicyFile('team.yaml', ['/a', '/b'], '/ref.yaml', exists), path.join('/b', 'team.yaml'));
    assert.equal(choosePolicyFile('', ['/a', '/b'], '/ref.yaml', exists), path.join('/b', 'tollgate.yaml'));
    assert.equal(choosePolicyFile('', ['/a'], '/ref.yaml', exists), '/ref.yaml');
  });

  it('writes the in-force file atomically with owner-only permissions', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keeper-'));
    try {
      const file = path.join(dir, 'sub', 'policy-in-force.yaml');
      writeFileAtomic(file, good);
      writeFileAtomic(file, good + '# again\n');
      assert.equal(fs.readFileSync(file, 'utf8'), good + '# again\n');
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      assert.deepEqual(fs.readdirSync(path.dirname(file)), ['policy-in-force.yaml']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
