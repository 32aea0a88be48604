import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SignJWT } from 'jose';
import { generateKeyPairSync } from 'node:crypto';
import type { RevocationView, SuspensionView } from '../../../src/contracts/admin';
import { SIGN_OUT_COMMAND } from '../../../src/contracts/command-titles';
import { SIGN_IN_PLACEHOLDER } from '../../../src/contracts/sign-in';
import type { Identity } from '../../../src/engine/identity/identity';
import { RevocationSet } from '../../../src/engine/identity/revocation';
import { mintSessionToken } from '../../../src/engine/identity/tokens';
import { IdentityWatch, resumedMessage, revokedMessage, suspendedStatusView, suspensionMessage } from '../../../src/extension/core/identity-notices';
import { signInMessage, signInStatusView } from '../../../src/extension/core/sign-in';
import { SIGN_OUT_REASON, signedOutMessage, signOut } from '../../../src/extension/core/sign-out';
import type { SignOutPorts } from '../../../src/extension/core/sign-out';
import { terminalEnvironment } from '../../../src/extension/core/terminal-env';
import { handedTokenOf, WindowTokens } from '../../../src/extension/core/window-tokens';
import { TokenGate } from '../../../src/proxy/token-gate';
import { addRevocations, readRevocations } from '../../../src/store/revocation-list';
import { loadSessionKeys } from '../../../src/store/session-key';

const NOW = Date.parse('2026-11-27T12:00:00.000Z');
const HOUR = 3_600_000;
const USER = 'dev@example.test';

function view(over: Partial<RevocationView>): RevocationView {
  return { id: 'rv_1', target: 'user', value: USER, user: null, revoked_at: new Date(NOW).toISOString(), reason: null, ...over };
}

function suspension(over: Partial<SuspensionView> = {}): SuspensionView {
  return {
    key: `agent:${USER}/vscode`, user: USER, agent: 'vscode', guard: 'divergence', measure: 'calls', recent: 41, baseline: 4, threshold: 40, ratio: 10.25,
    since: new Date(NOW).toISOString(), resume: `tollgate identity resume --agent vscode --user ${USER}`, ...over,
  };
}

describe('signing out and the identity notices in the editor', () => {
  let dir: string;
  let mint: (o?: { user?: string; agent?: string; now?: number; ttlMs?: number }) => Promise<string>;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sign-out-'));
    const keys = loadSessionKeys(dir);
    mint = (o = {}) => mintSessionToken(keys, { user: o.user ?? USER, agent: o.agent ?? 'vscode', ttlMs: o.ttlMs ?? 8 * HOUR, now: o.now ?? NOW - HOUR });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('the tokens a window handed out', () => {
    it('keeps what each token says (never its text) and knows its own minted tokens from a pasted one', async () => {
      const token = await mint();
      const t = handedTokenOf(token);
      assert.ok(t);
      assert.equal(t.user, USER);
      assert.equal(t.agent, 'vscode');
      assert.equal(t.minted, true);
      assert.equal(t.issuedAt, Math.floor((NOW - HOUR) / 1000) * 1000);
      assert.ok(!JSON.stringify(t).includes(token), 'the token text is not kept');
      const idp = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const pasted = await new SignJWT({ email: 'Dev@Example.test' }).setProtectedHeader({ alg: 'ES256' }).setIssuer('https://idp.example').setIssuedAt(NOW / 1000).setExpirationTime(NOW / 1000 + 3600).sign(idp.privateKey);
      assert.deepEqual({ user: handedTokenOf(pasted)?.user, minted: handedTokenOf(pasted)?.minted, id: handedTokenOf(pasted)?.id }, { user: USER, minted: false, id: undefined });
      assert.equal(handedTokenOf('not a token'), undefined);
    });

    it('matches a revocation by token id, person, agent, session or key as the proxy does, and not one of tokens issued later', async () => {
      const tokens = new WindowTokens();
      const t = tokens.note(await mint())!;
      assert.equal(tokens.revokedBy(view({ target: 'token', value: t.id! })).length, 1);
      assert.equal(tokens.revokedBy(view({ target: 'token', value: 'someone-else' })).length, 0);
      assert.equal(tokens.revokedBy(view({ target: 'user', value: USER })).length, 1);
      assert.equal(tokens.revokedBy(view({ target: 'user', value: 'other@example.test' })).length, 0);
      assert.equal(tokens.revokedBy(view({ target: 'agent', value: 'vscode', user: USER })).length, 1);
      assert.equal(tokens.revokedBy(view({ target: 'agent', value: 'vscode', user: 'other@example.test' })).length, 0);
      assert.equal(tokens.revokedBy(view({ target: 'session', value: t.session })).length, 1);
      assert.equal(tokens.revokedBy(view({ target: 'key', value: t.kid! })).length, 1);
      // A person's revocation covers the tokens issued up to it: one minted after is a new session.
      assert.equal(tokens.revokedBy(view({ target: 'user', value: USER, revoked_at: new Date(NOW - 2 * HOUR).toISOString() })).length, 0);
    });

    it('gives one revocation per live token it minted, by id, kept a minute past the token’s expiry', async () => {
      const tokens = new WindowTokens();
      const a = tokens.note(await mint())!;
      const b = tokens.note(await mint({ agent: 'notebook' }))!;
      tokens.note(await mint({ now: NOW - 10 * HOUR, ttlMs: HOUR })); // expired: nothing to revoke
      tokens.note(await mint()); // noted twice: once
      let n = 0;
      const revocations = tokens.revocationsForSignOut(NOW, SIGN_OUT_REASON, () => `rv_${++n}`);
      assert.equal(revocations.length, 3);
      assert.deepEqual(revocations.slice(0, 2), [
        { id: 'rv_1', target: 'token', value: a.id, revokedAt: NOW, expiresAt: a.expiresAt + 60_000, reason: SIGN_OUT_REASON },
        { id: 'rv_2', target: 'token', value: b.id, revokedAt: NOW, expiresAt: b.expiresAt + 60_000, reason: SIGN_OUT_REASON },
      ]);
    });
  });

  describe('Sign Out', () => {
    function ports(dataDir: string, calls: string[]): SignOutPorts {
      return {
        markSignedOut: async () => void calls.push('signed-out'),
        forget: async () => void calls.push('forget'),
        revoke: (revocations, now) => {
          calls.push('revoke');
          // What the adapter does: the data dir's list, as `tollgate token revoke` writes it.
          addRevocations(dataDir, revocations, now);
        },
      };
    }

    it('revokes every live token the window minted in the data dir’s list, stops handing tokens out first, and forgets the identity', async () => {
      const dataDir = fs.mkdtempSync(path.join(dir, 'data-'));
      const tokens = new WindowTokens();
      const first = await mint();
      const renewed = await mint();
      tokens.note(first);
      tokens.note(renewed);
      const calls: string[] = [];
      const result = await signOut(tokens, ports(dataDir, calls), NOW);
      assert.deepEqual(result, { revoked: 2 });
      assert.deepEqual(calls, ['signed-out', 'forget', 'revoke']);
      assert.deepEqual(tokens.live(NOW), [], 'the window has no tokens left to match later announcements against');
      const listed = readRevocations(dataDir);
      assert.deepEqual(listed.map((r) => [r.target, r.value, r.reason]), [first, renewed].map((t) => ['token', handedTokenOf(t)!.id, SIGN_OUT_REASON]));
      // The proxy refuses both from the next request: the same list, read the way the proxy reads it.
      const set = new RevocationSet(listed);
      for (const t of [first, renewed]) {
        const h = handedTokenOf(t)!;
        const id: Identity = { user: h.user, agent: h.agent ?? 'default', session: h.session, roles: [], issuer: 'tollgate', token: { id: h.id, issuedAt: h.issuedAt, expiresAt: h.expiresAt, kid: h.kid } };
        assert.ok(set.match(id), 'revoked');
      }
      assert.match(signedOutMessage(result), /signed out and revoked 2 session tokens/);
      assert.ok(!signedOutMessage(result).includes(first));
    });

    it('has the proxy record each revocation in its ledger, as for `tollgate token revoke`', async () => {
      const dataDir = fs.mkdtempSync(path.join(dir, 'ledger-'));
      const recorded: string[] = [];
      const announced: string[] = [];
      const gate = new TokenGate({ dataDir, record: (b) => (recorded.push(`${b.target}:${b.value}:${b.reason}`), true), announce: (r) => announced.push(r.value), log: { warn: () => undefined, error: () => undefined, info: () => undefined }, clock: () => NOW });
      gate.start();
      const tokens = new WindowTokens();
      const h = tokens.note(await mint())!;
      await signOut(tokens, ports(dataDir, []), NOW);
      try {
        const h2 = { user: h.user, agent: 'vscode', session: h.session, roles: [], issuer: 'tollgate', token: { id: h.id, issuedAt: h.issuedAt, expiresAt: h.expiresAt, kid: h.kid } };
        await assert.rejects(gate.check(h2, NOW), /revoked/);
        assert.deepEqual(recorded, [`token:${h.id}:${SIGN_OUT_REASON}`]);
        assert.deepEqual(announced, [h.id]);
      } finally {
        gate.stop();
      }
    });

    it('signs out even when the list cannot be written, and says the tokens stay valid', async () => {
      const tokens = new WindowTokens();
      tokens.note(await mint());
      const calls: string[] = [];
      const result = await signOut(tokens, { ...ports(dir, calls), revoke: () => { throw new Error('revocations.json is not JSON'); } }, NOW);
      assert.deepEqual(result, { revoked: 0, problem: 'revocations.json is not JSON' });
      assert.deepEqual(calls, ['signed-out', 'forget']);
      assert.match(signedOutMessage(result), /could not be revoked .*stay valid until they expire/);
    });

    it('leaves the terminals the sign-in placeholder and the status bar saying sign in, without asking at once', () => {
      const env = terminalEnvironment('http://127.0.0.1:9', undefined, 'signed-out');
      assert.equal(env?.OPENAI_API_KEY, SIGN_IN_PLACEHOLDER);
      const item = signInStatusView('signed-out', 'running');
      assert.equal(item?.text, '$(warning) Tollgate: sign in');
      assert.match(item!.tooltip, /You are signed out/);
      assert.match(signInMessage('signed-out', undefined), /you are signed out/);
      assert.equal(SIGN_OUT_COMMAND.title, 'Tollgate: Sign Out');
      const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { contributes: { commands: { command: string; title: string; category: string }[] } };
      const c = pkg.contributes.commands.find((x) => x.command === SIGN_OUT_COMMAND.id);
      assert.equal(c && `${c.category}: ${c.title}`, SIGN_OUT_COMMAND.title);
    });
  });

  describe('what the proxy announces', () => {
    it('tells the window once when a revocation covers a token it handed out, and never names the token', async () => {
      const tokens = new WindowTokens();
      const token = await mint();
      tokens.note(token);
      const watch = new IdentityWatch(tokens, () => USER);
      assert.equal(watch.observe({ type: 'revocation', revocation: view({ value: 'other@example.test' }) }), undefined);
      const notice = watch.observe({ type: 'revocation', revocation: view({ reason: 'laptop lost' }) });
      assert.equal(notice?.kind, 'revoked');
      assert.equal(notice.message, revokedMessage(view({ reason: 'laptop lost' })));
      assert.match(notice.message, /your session token was revoked \(rv_1 revoked every token of dev@example\.test: laptop lost\)/);
      assert.ok(!notice.message.includes(token));
      assert.equal(watch.observe({ type: 'revocation', revocation: view({ id: 'rv_2' }) }), undefined, 'the same token again is no news');
    });

    it('after signing out, the window’s own revocations coming back are not news', async () => {
      const tokens = new WindowTokens();
      const h = tokens.note(await mint())!;
      const watch = new IdentityWatch(tokens, () => USER);
      await signOut(tokens, { markSignedOut: async () => undefined, forget: async () => undefined, revoke: () => undefined }, NOW);
      assert.equal(watch.observe({ type: 'revocation', revocation: view({ target: 'token', value: h.id! }) }), undefined);
    });

    it('warns of a suspension of the person or their agents, naming the guard, measure, ratio and resume command, and says when it is lifted', () => {
      let user: string | undefined = USER;
      const watch = new IdentityWatch(new WindowTokens(), () => user);
      assert.equal(watch.observe({ type: 'suspension', suspension: suspension({ key: 'agent:other@example.test/ci', user: 'other@example.test' }) }), undefined, 'someone else’s');
      const s = suspension();
      const notice = watch.observe({ type: 'suspension', suspension: s });
      assert.equal(notice?.kind, 'suspended');
      assert.equal(notice.message, suspensionMessage(s));
      assert.match(notice.message, /guard 'divergence' suspended your agent 'vscode': 41 calls in the window \(10\.3x its usual 4 calls; threshold 40 calls\)/);
      assert.match(notice.message, /tollgate identity resume --agent vscode --user dev@example\.test/);
      assert.equal(watch.observe({ type: 'suspension', suspension: s }), undefined, 'announced once');
      assert.deepEqual(watch.suspensions(), [s]);
      assert.equal(suspendedStatusView(watch.suspensions())?.text, '$(debug-pause) Tollgate: suspended');
      assert.match(suspendedStatusView(watch.suspensions())!.tooltip, /Resume: tollgate identity resume/);

      const lifted = watch.observe({ type: 'resumption', suspension: s });
      assert.deepEqual(lifted, { kind: 'resumed', suspension: s, message: resumedMessage(s) });
      assert.deepEqual(watch.suspensions(), []);
      assert.equal(suspendedStatusView(watch.suspensions()), undefined);

      // A person's own suspension, with no baseline yet; read through whoever is signed in now.
      const own = suspension({ key: `user:${USER}`, agent: null, ratio: null, baseline: 0, recent: 3, threshold: 2, resume: `tollgate identity resume --user ${USER}` });
      assert.match(watch.observe({ type: 'suspension', suspension: own })!.message, /suspended you \(dev@example\.test\): 3 calls in the window \(no baseline yet; threshold 2 calls\)/);
      user = undefined;
      assert.deepEqual(watch.suspensions(), [], 'signed out: nobody’s');
    });

    it('takes the proxy’s whole list on connecting: a notice for each suspension it did not know', () => {
      const watch = new IdentityWatch(new WindowTokens(), () => USER);
      const a = suspension();
      const b = suspension({ key: `user:${USER}`, agent: null });
      watch.observe({ type: 'suspension', suspension: a });
      const notices = watch.reset([a, b]);
      assert.deepEqual(notices.map((n) => n.kind === 'suspended' && n.suspension.key), [b.key]);
      assert.deepEqual(watch.reset([]), []);
      assert.deepEqual(watch.suspensions(), []);
    });
  });
});
