import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MockUpstream } from '../../helpers/mock-upstream';
import { runTollgate } from '../../helpers/cli';
import { startTestProxy } from '../../helpers/proxy';
import { serveRefusal } from '../../helpers/serve-process';

// Every secret in the data dir (the keys that sign tokens and ledger records, the admin token, the
// pseudonym key) must be private to its owner: serve and token refuse one that is not, naming the
// file and the chmod that fixes it. A data dir others may write is warned about.

const SECRETS = ['session-key.pem', 'admin-token', 'ledger-signing-key.pem', 'pseudonym-key'];

describe('secret files in the data dir', function () {
  this.timeout(60_000);
  let mock: MockUpstream;
  let upstream: string;
  let dataDir: string;
  before(async () => {
    mock = new MockUpstream();
    upstream = await mock.start();
    const p = await startTestProxy(upstream);
    await p.stop();
    dataDir = p.dataDir;
    for (const name of SECRETS) assert.equal(fs.statSync(path.join(dataDir, name)).mode & 0o777, 0o600, `${name} is created private`);
  });
  after(() => mock.stop());

  for (const name of SECRETS) {
    it(`serve refuses to start when ${name} is readable by others, naming it and chmod 600`, async () => {
      const file = path.join(dataDir, name);
      fs.chmodSync(file, 0o644);
      try {
        const r = await serveRefusal(['--data-dir', dataDir, '--upstream', `openai=${upstream}`]);
        assert.equal(r.code, 1, r.stderr);
        assert.ok(r.stderr.includes(`${file} (mode 0644)`), r.stderr);
        assert.ok(r.stderr.includes(`chmod 600 ${file}`), r.stderr);
      } finally {
        fs.chmodSync(file, 0o600);
      }
    });
  }

  it('token refuses a session key others can read, and mints once it is private again', async () => {
    const file = path.join(dataDir, 'session-key.pem');
    fs.chmodSync(file, 0o640);
    const refused = await runTollgate(['token', '--user', 'bob@acme.dev', '--data-dir', dataDir]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /session-key\.pem \(mode 0640\).*chmod 600 /);
    assert.equal(refused.stdout, '');
    fs.chmodSync(file, 0o600);
    const minted = await runTollgate(['token', '--user', 'bob@acme.dev', '--data-dir', dataDir]);
    assert.equal(minted.code, 0, minted.stderr);
  });

  it('audit prune refuses a ledger signing key others can read', async () => {
    const file = path.join(dataDir, 'ledger-signing-key.pem');
    fs.chmodSync(file, 0o604);
    try {
      const r = await runTollgate(['audit', 'prune', '--before', '1d', '--data-dir', dataDir]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /ledger-signing-key\.pem \(mode 0604\).*chmod 600 /);
    } finally {
      fs.chmodSync(file, 0o600);
    }
  });

  it('warns when the data dir is writable by other users', async () => {
    fs.chmodSync(dataDir, 0o777);
    try {
      const p = await startTestProxy(upstream, { dataDir });
      await p.stop();
      assert.ok(p.logs().includes(`${dataDir} is writable by other users (mode 0777)`), p.logs());
      assert.match(p.logs(), /chmod 700 /);
    } finally {
      fs.chmodSync(dataDir, 0o700);
    }
  });
});
