import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { TokenVerifier } from '../../../src/engine/identity/tokens';
import { loadPolicy } from '../../../src/engine/policy/loader';
import { IdentityUnavailableError, liveIdentityOf, mintEditorToken, needsRenewal, resolveUser, tokenFacts } from '../../../src/extension/core/session';
import { loadSessionKeys } from '../../../src/store/session-key';
import { editorPolicy } from '../../editor/workspace';

describe('editor session identity', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'session-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('mints a token the proxy verifies with the same data dir’s key', async () => {
    const now = Date.now();
    const token = await mintEditorToken(dir, 'Dev@Example.test', 'vscode', 3_600_000, now);
    const loaded = loadPolicy(editorPolicy('http://127.0.0.1:9'), now);
    assert.ok(loaded.ok);
    const verifier = await TokenVerifier.create(loaded.policy, { publicKey: loadSessionKeys(dir).publicKey });
    const identity = await verifier.verify(token, now);
    assert.equal(identity.user, 'dev@example.test');
    const facts = tokenFacts(token);
    assert.equal(facts?.user, 'dev@example.test');
    assert.equal(facts?.agent, 'vscode');
    assert.deepEqual(liveIdentityOf(facts), { user: 'dev@example.test', agent: 'vscode', roles: [] });
  });

  it('renews a token that is missing, unreadable or about to expire', async () => {
    const now = Date.now();
    const token = await mintEditorToken(dir, 'a@b.c', 'vscode', 3_600_000, now);
    assert.equal(needsRenewal(token, now), false);
    assert.equal(needsRenewal(token, now + 3_600_000 - 60_000), true, 'within the 10-minute margin');
    assert.equal(needsRenewal(undefined, now), true);
    assert.equal(needsRenewal('not-a-jwt', now), true);
  });

  it('takes the user from the setting, else git config user.email, else explains what to do', async () => {
    assert.equal(await resolveUser('me@x.y', dir), 'me@x.y');
    execFileSync('git', ['init', '-q', dir]);
    execFileSync('git', ['-C', dir, 'config', 'user.email', 'git-user@example.test']);
    assert.equal(await resolveUser('', dir), 'git-user@example.test');
    execFileSync('git', ['-C', dir, 'config', 'user.email', 'no-at-sign']);
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'home-'));
    const saved = { HOME: process.env.HOME, GIT_CONFIG_GLOBAL: process.env.GIT_CONFIG_GLOBAL, GIT_CONFIG_NOSYSTEM: process.env.GIT_CONFIG_NOSYSTEM };
    try {
      process.env.HOME = home;
      process.env.GIT_CONFIG_GLOBAL = path.join(home, 'none');
      process.env.GIT_CONFIG_NOSYSTEM = '1';
      await assert.rejects(resolveUser('', dir), (e: unknown) => IdentityUnavailableError.is(e) && /tollgate\.user/.test((e as Error).message));
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
