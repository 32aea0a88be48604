import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTollgate } from '../../helpers/cli';
import { aliasBomb, bundleWithIssuer, positionOf, publicKeyField, referencePath, referenceText } from '../../helpers/policy';

describe('tollgate policy check', () => {
  it('exits 0 with a one-line summary for the reference bundle', async () => {
    const r = await runTollgate(['policy', 'check', referencePath]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 1);
    assert.match(r.stdout, /ok: policy 'acme-ai-gateway' .*6 limits, 2 budgets/);
  });

  it('prints every error as FILE:LINE:COL: message and exits 1', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-policy-'));
    const file = path.join(dir, 'broken.tollgate.yaml');
    fs.writeFileSync(file, referenceText.replace('rate: 60/min', 'rate: 60/fortnight').replace('limit: agent-burst', 'limit: nope'));
    const r = await runTollgate(['policy', 'check', 'broken.tollgate.yaml'], { cwd: dir });
    assert.equal(r.code, 1);
    const rate = positionOf(referenceText, 'rate: 60/min', 'rate: '.length);
    const limit = positionOf(referenceText, 'limit: agent-burst', 'limit: '.length);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      `broken.tollgate.yaml:${rate.line}:${rate.column}: invalid rate '60/fortnight': expected N/unit with unit s, min, h or day (e.g. 60/min)`,
      `broken.tollgate.yaml:${limit.line}:${limit.column}: exception names unknown limit 'nope'`,
    ]);
  });

  it('prints the schema\'s errors and the semantic errors in one run, in line order', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-policy-'));
    const file = path.join(dir, 'broken.tollgate.yaml');
    const broken = referenceText.replace('per: agent', 'per: agnet').replace('window: 1m', 'window: 1 minute').replace('expires: 2027-06-30', 'expires: 2026-02-30');
    fs.writeFileSync(file, broken);
    const r = await runTollgate(['policy', 'check', file]);
    assert.equal(r.code, 1);
    const at = (needle: string, offset: number): string => {
      const p = positionOf(broken, needle, offset);
      return `${file}:${p.line}:${p.column}: `;
    };
    assert.deepEqual(r.stdout.trim().split('\n'), [
      `${at('per: agnet', 'per: '.length)}must be one of: agent, user, role, classification, session, tenant`,
      `${at('window: 1 minute', 'window: '.length)}invalid duration '1 minute': expected a number and a unit (30s, 1m, 1h, 1d)`,
      `${at('expires: 2026-02-30', 'expires: '.length)}impossible date '2026-02-30'`,
    ]);
    assert.match(r.stderr, /3 errors in /);
  });

  it('reports an alias bomb as FILE:LINE:COL: message and exits 1', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-policy-'));
    const file = path.join(dir, 'bomb.tollgate.yaml');
    const text = `${referenceText}${aliasBomb()}`;
    fs.writeFileSync(file, text);
    const r = await runTollgate(['policy', 'check', file]);
    assert.equal(r.code, 1, r.stderr);
    const at = positionOf(text, '*a');
    assert.equal(r.stdout.trim(), `${file}:${at.line}:${at.column}: aliases here expand the bundle too far (a "billion laughs" alias bomb is refused)`);
  });

  it('imports issuer keys as the proxy does: an EC key without algorithms is an error at the key', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-policy-'));
    const file = path.join(dir, 'idp.tollgate.yaml');
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const text = bundleWithIssuer(publicKeyField(pem));
    fs.writeFileSync(file, text);
    const r = await runTollgate(['policy', 'check', file]);
    assert.equal(r.code, 1, r.stdout);
    const at = positionOf(text, '|\n');
    assert.equal(r.stdout.trim(), `${file}:${at.line}:${at.column}: an EC P-256 key cannot verify RS256, the default when 'algorithms' is not given: add algorithms: [ES256]`);
    fs.writeFileSync(file, bundleWithIssuer(`      algorithms: [ES256]\n${publicKeyField(pem)}`));
    assert.equal((await runTollgate(['policy', 'check', file])).code, 0);
  });

  it('exits 2 for a missing file or bad usage', async () => {
    assert.equal((await runTollgate(['policy', 'check', '/nonexistent/p.yaml'])).code, 2);
    assert.equal((await runTollgate(['policy', 'lint'])).code, 2);
  });
});
