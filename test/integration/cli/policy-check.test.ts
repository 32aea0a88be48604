import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { positionOf, referenceText } from '../../helpers/policy';

// `tollgate policy check` as a person runs it (the built CLI, in a process): one run states every
// error in the bundle, each at its line, not the first one and a stop.

const cli = path.resolve(__dirname, '../../../dist/cli.js');

function run(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as NodeJS.ErrnoException & { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('tollgate policy check (the built CLI): every error in one run', () => {
  before(() => {
    if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: run npm run build first`);
  });

  it('states schema and semantic errors from every section of the bundle, each at its line, and exits 1', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-policy-check-'));
    try {
      // Five mistakes in five places: a limit's dimension, another limit's rate, an unknown key in
      // the entitlements, an exception naming no limit, and a date that does not exist.
      const broken = referenceText
        .replace('per: agent', 'per: agnet')
        .replace('rate: 1000/h', 'rate: 1000/fortnight')
        .replace('entitlements:\n', 'entitlements:\n  bogus_key: 1\n')
        .replace('limit: agent-burst', 'limit: nope')
        .replace('expires: 2027-06-30', 'expires: 2026-02-30');
      fs.writeFileSync(path.join(dir, 'tollgate.yaml'), broken);
      const r = await run(['policy', 'check', 'tollgate.yaml'], dir);
      assert.equal(r.code, 1, r.stderr);
      const at = (needle: string, offset: number): string => {
        const p = positionOf(broken, needle, offset);
        return `tollgate.yaml:${p.line}:${p.column}: `;
      };
      assert.deepEqual(r.stdout.trim().split('\n'), [
        `${at('per: agnet', 'per: '.length)}must be one of: agent, user, role, classification, session, tenant`,
        `${at('rate: 1000/fortnight', 'rate: '.length)}invalid rate '1000/fortnight': expected N/unit with unit s, min, h or day (e.g. 60/min)`,
        `${at('bogus_key: 1', 0)}unknown key 'bogus_key'`,
        `${at('limit: nope', 'limit: '.length)}exception names unknown limit 'nope'`,
        `${at('expires: 2026-02-30', 'expires: '.length)}impossible date '2026-02-30'`,
      ]);
      assert.match(r.stderr, /^5 errors in tollgate\.yaml$/m);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--help answers from the built CLI too, exit 0', async () => {
    const r = await run(['policy', 'check', '--help'], os.tmpdir());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^usage: tollgate policy check FILE/);
    assert.match(r.stdout, /example:\n {2}tollgate policy check /);
  });
});
