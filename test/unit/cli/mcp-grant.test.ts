import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { verifyApprovalToken } from '../../../src/engine/identity/approval-token';
import { DataDirKeySource } from '../../../src/store/session-key';
import { runTollgate } from '../../helpers/cli';

// `tollgate mcp grant`: the token on stdout only, signed by the data dir's session key, and a
// clear usage error for every bad option.

describe('tollgate mcp grant', () => {
  let dataDir: string;

  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-grant-'));
  });

  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('prints an approval token the data dir\'s key ring verifies, naming its id and expiry on stderr', async () => {
    const r = await runTollgate(['mcp', 'grant', '--tool', 'mcp__*__write*', '--user', 'Ops@Acme.dev', '--agent', 'deploy-bot', '--ttl', '5m', '--data-dir', dataDir]);
    assert.equal(r.code, 0, r.stderr);
    const token = r.stdout.trim();
    assert.equal(r.stdout.split('\n').filter(Boolean).length, 1);
    const grant = await verifyApprovalToken(token, new DataDirKeySource(dataDir), Date.now());
    assert.equal(grant.user, 'ops@acme.dev');
    assert.equal(grant.agent, 'deploy-bot');
    assert.equal(grant.tool, 'mcp__*__write*');
    assert.equal(grant.expiresAt - grant.issuedAt, 300_000);
    assert.match(r.stderr, new RegExp(`approval token ${grant.id}: .*revoke it with tollgate token revoke --id ${grant.id}`));
    assert.ok(!r.stderr.includes(token));
  });

  it('refuses a lifetime over 1h, a bad tool glob, a bad agent and a missing user, with exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--tool', 'mcp__x__y', '--user', 'a@b.c', '--ttl', '2h'], /--ttl 2h must be between 1s and 1h/],
      [['--tool', 'mcp__x__y', '--user', 'a@b.c', '--ttl', 'soon'], /invalid --ttl 'soon'/],
      [['--tool', 'rm -rf', '--user', 'a@b.c'], /--tool must be a tool name or glob/],
      [['--tool', 'mcp__x__y', '--user', 'a@b.c', '--agent', 'a b'], /--agent must be/],
      [['--tool', 'mcp__x__y'], /--user/],
    ];
    for (const [args, message] of cases) {
      const r = await runTollgate(['mcp', 'grant', ...args, '--data-dir', dataDir]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    }
  });
});
