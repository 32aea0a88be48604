import * as assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SignJWT } from 'jose';
import { SIGN_IN_COMMAND } from '../../../src/contracts/command-titles';
import { SIGN_IN_PLACEHOLDER } from '../../../src/contracts/sign-in';
import { IdentityError } from '../../../src/engine/identity/identity';
import { mintSessionToken, TokenVerifier } from '../../../src/engine/identity/tokens';
import type { IdentityState, SignInPorts } from '../../../src/extension/core/sign-in';
import { addressProblem, normalizeAddress, SignInError, SignInFlow, signInStatusView, USE_ADDRESS, USE_TOKEN, verifyPastedToken } from '../../../src/extension/core/sign-in';
import { proxyEnvironment, terminalEnvironment } from '../../../src/extension/core/terminal-env';
import { registeredAdapters } from '../../../src/providers/registry';
import { loadSessionKeys } from '../../../src/store/session-key';
import { bundleWithIssuer, NOW, policyFrom, publicKeyField, referencePolicy } from '../../helpers/policy';

const IDP = 'https://idp.acme.dev';

describe('signing in from the editor', () => {
  describe('the address', () => {
    it('accepts an ordinary address and keeps it lower-cased', () => {
      for (const ok of ['dev@example.test', 'First.Last+tag@mail.example.co.uk', ' padded@example.com ']) assert.equal(addressProblem(ok), undefined, ok);
      assert.equal(normalizeAddress(' Dev@Example.TEST '), 'dev@example.test');
    });

    it('says what is wrong with anything else, header breaks and look-alike characters included', () => {
      const bad = ['', '   ', 'dev', '@example.com', 'dev@', 'dev@example', 'dev@@example.com', 'd ev@example.com', '.dev@example.com', 'dev.@example.com', 'de..v@example.com',
        'dev@example.com\r\nx-tollgate-user: boss@example.com', 'dev@exam_ple.com', 'dev@-example.com', 'dеv@example.com' /* Cyrillic е */, `${'a'.repeat(65)}@example.com`, `a@${'b'.repeat(250)}.com`];
      for (const text of bad) {
        const problem = addressProblem(text);
        assert.ok(problem && problem.length > 10, `${JSON.stringify(text)} is refused with a sentence`);
      }
    });
  });

  describe('a pasted token', () => {
    const idp = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const policy = policyFrom(bundleWithIssuer(`      algorithms: [RS256]\n${publicKeyField(idp.publicKey.export({ type: 'spki', format: 'pem' }).toString())}`, IDP));
    const sign = (claims: Record<string, unknown>, o: { issuer?: string; exp?: number } = {}): Promise<string> =>
      new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).setIssuer(o.issuer ?? IDP).setAudience('tollgate').setIssuedAt(NOW / 1000 - 60).setExpirationTime(o.exp ?? NOW / 1000 + 3600).sign(idp.privateKey);
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sign-in-'));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('is kept only when the proxy would accept it, and names the person in the issuer’s user claim', async () => {
      const token = await sign({ email: 'Carol@acme.dev' });
      assert.equal(await verifyPastedToken(`  ${token}\n`, { policy, sessionKey: undefined, now: NOW }), 'carol@acme.dev');
      // The proxy's own verifier agrees.
      assert.equal((await TokenVerifier.create(policy, undefined).verify(token, NOW)).user, 'carol@acme.dev');
    });

    it('is refused with the proxy’s reason when it names nobody, has expired, or comes from an issuer the policy does not trust', async () => {
      const cases: Array<[Promise<string>, RegExp]> = [
        [sign({ sub: 'carol@acme.dev' }), /does not name a person/],
        [sign({ email: 'carol@acme.dev' }, { exp: NOW / 1000 - 3600 }), /expired/],
        [sign({ email: 'carol@acme.dev' }, { issuer: 'https://evil.example' }), /issuer this policy does not trust.*trusts tokens from https:\/\/idp\.acme\.dev/],
        [Promise.resolve('not a token'), /not a well-formed JWT/],
        [Promise.resolve(''), /Paste the token/],
        [Promise.resolve(SIGN_IN_PLACEHOLDER), /no Tollgate identity yet/],
      ];
      for (const [token, message] of cases) {
        await assert.rejects(verifyPastedToken(await token, { policy, sessionKey: undefined, now: NOW }), (e: unknown) => SignInError.is(e) && e.reason === 'token-refused' && message.test(e.message));
      }
    });

    it('accepts a session token of this proxy’s own key, and says when no policy is in force to check against', async () => {
      const keys = loadSessionKeys(dir);
      const token = await mintSessionToken(keys, { user: 'dan@acme.dev', ttlMs: 3_600_000, now: NOW });
      assert.equal(await verifyPastedToken(token, { policy: referencePolicy(), sessionKey: keys.publicKey, now: NOW }), 'dan@acme.dev');
      await assert.rejects(verifyPastedToken(token, { policy: referencePolicy(), sessionKey: undefined, now: NOW }), (e: unknown) => SignInError.is(e) && /trusts no identity provider/.test(e.message));
      await assert.rejects(verifyPastedToken(token, { policy: undefined, sessionKey: keys.publicKey, now: NOW }), (e: unknown) => SignInError.is(e) && e.reason === 'no-policy');
    });
  });

  describe('the flow', () => {
    interface Recorded {
      asked: string[];
      saved: string[];
      tokens: string[];
      infos: string[];
      errors: string[];
    }
    function ports(o: { choice?: string; address?: string; token?: string; verify?: (t: string) => Promise<string>; after?: IdentityState } = {}): { ports: SignInPorts; rec: Recorded; release: () => void } {
      const rec: Recorded = { asked: [], saved: [], tokens: [], infos: [], errors: [] };
      let state: IdentityState = 'missing';
      let user: string | undefined;
      let release = (): void => undefined;
      const answered = new Promise<void>((r) => (release = r));
      return {
        rec,
        release: () => release(),
        ports: {
          ask: async (message, ...choices) => {
            rec.asked.push(message);
            assert.deepEqual(choices, [USE_ADDRESS, USE_TOKEN]);
            await answered;
            return o.choice;
          },
          askAddress: async (validate) => {
            assert.ok(validate('nope'), 'the box says what is wrong while typing');
            return o.address;
          },
          askToken: async (validate) => {
            assert.ok(await validate('nope'), 'the box says why a token is refused while typing');
            return o.token;
          },
          saveAddress: async (a) => void rec.saved.push(a),
          saveToken: async (t) => void rec.tokens.push(t),
          verifyToken: o.verify ?? (async (t) => {
            if (t.trim() !== 'good-token') throw new SignInError('token-refused', 'refused');
            return 'carol@acme.dev';
          }),
          resume: async () => {
            state = o.after ?? 'signed-in';
            user = state === 'signed-in' ? (rec.saved[0] ?? 'carol@acme.dev') : undefined;
            return state;
          },
          state: () => state,
          user: () => user,
          info: (m) => void rec.infos.push(m),
          error: (m) => void rec.errors.push(m),
        },
      };
    }
    const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

    it('asks at once when the identity is missing, keeps a valid address and resumes the session', async () => {
      const { ports: p, rec, release } = ports({ choice: USE_ADDRESS, address: ' Dev@Example.test ' });
      const flow = new SignInFlow(p);
      flow.observe('unknown');
      assert.equal(rec.asked.length, 0, 'nothing is asked before the identity is known to be missing');
      flow.observe('missing');
      await settle();
      assert.equal(rec.asked.length, 1);
      assert.match(rec.asked[0]!, /does not know who you are.*refused until you sign in/);
      assert.equal(flow.phase, 'asking');
      flow.observe('missing');
      assert.equal(await flow.ask(), 'already-asking', 'one question at a time');
      release();
      await settle();
      await settle();
      assert.deepEqual(rec.saved, ['dev@example.test']);
      assert.equal(flow.phase, 'signed-in');
      assert.match(rec.infos[0]!, /signed in as dev@example\.test/);
    });

    it('does not ask again by itself once closed; the status bar and the palette ask again', async () => {
      const { ports: p, rec, release } = ports({ choice: undefined });
      release();
      const flow = new SignInFlow(p);
      flow.observe('missing');
      await settle();
      await settle();
      assert.equal(flow.phase, 'missing');
      flow.observe('missing');
      await settle();
      assert.equal(rec.asked.length, 1, 'asked once per window');
      assert.equal(await flow.ask(), 'dismissed');
      assert.equal(rec.asked.length, 2);
      assert.deepEqual(rec.saved, []);
    });

    it('does not ask by itself after the person signed out; asked, it says they are signed out', async () => {
      const { ports: p, rec, release } = ports({ choice: USE_ADDRESS, address: 'dev@example.test' });
      const flow = new SignInFlow(p);
      flow.observe('signed-in');
      flow.observe('signed-out');
      await settle();
      assert.equal(rec.asked.length, 0, 'the person who signed out knows');
      assert.equal(flow.phase, 'signed-out');
      const asked = flow.ask();
      release();
      assert.equal(await asked, 'signed-in');
      assert.match(rec.asked[0]!, /you are signed out/);
    });

    it('keeps a token only once verified, trimmed', async () => {
      const { ports: p, rec, release } = ports({ choice: USE_TOKEN, token: '  good-token\n' });
      release();
      assert.equal(await new SignInFlow(p).ask(), 'signed-in');
      assert.deepEqual(rec.tokens, ['good-token']);
      const bad = ports({ choice: USE_TOKEN, token: 'forged' });
      bad.release();
      assert.equal(await new SignInFlow(bad.ports).ask(), 'dismissed');
      assert.deepEqual(bad.rec.tokens, [], 'a token the proxy would refuse is never stored');
      assert.match(bad.rec.errors[0]!, /refused/);
    });

    it('never keeps an invalid address, whoever supplies it', async () => {
      const { ports: p, rec, release } = ports({ choice: USE_ADDRESS, address: 'boss@example.com\r\nx: y' });
      release();
      assert.equal(await new SignInFlow(p).ask(), 'dismissed');
      assert.deepEqual(rec.saved, []);
    });

    it('says so when the answer did not give an identity', async () => {
      const { ports: p, rec, release } = ports({ choice: USE_ADDRESS, address: 'dev@example.test', after: 'missing' });
      release();
      const flow = new SignInFlow(p);
      assert.equal(await flow.ask(), 'still-missing');
      assert.equal(flow.phase, 'missing');
      assert.match(rec.errors[0]!, /still no identity/);
    });
  });

  describe('what the editor shows and gives the terminals meanwhile', () => {
    it('shows "sign in" in the status bar with a click that asks, unless the proxy failed', () => {
      const view = signInStatusView('missing', 'running');
      assert.equal(view?.text, '$(warning) Tollgate: sign in');
      assert.equal(view?.level, 'warning');
      assert.ok(view?.tooltip.includes(SIGN_IN_COMMAND.title));
      assert.ok(signInStatusView('missing', 'stopped'), 'not "off": the person learns what to do');
      assert.equal(signInStatusView('missing', 'failed'), undefined);
      assert.equal(signInStatusView('signed-in', 'running'), undefined);
      assert.equal(signInStatusView('unknown', 'starting'), undefined);
    });

    it('points new terminals at the proxy with the sign-in placeholder, never a key, while nobody is signed in', () => {
      const url = 'http://127.0.0.1:4100';
      const missing = terminalEnvironment(url, undefined, 'missing');
      assert.deepEqual(missing, proxyEnvironment(url, SIGN_IN_PLACEHOLDER));
      for (const adapter of registeredAdapters()) {
        const { baseUrl, apiKey } = adapter.sdkEnvironment('', '');
        assert.ok(missing?.[baseUrl.name]?.startsWith(url), `${baseUrl.name} goes to the proxy`);
        assert.equal(missing?.[apiKey.name], SIGN_IN_PLACEHOLDER, `${apiKey.name} holds no key`);
      }
      assert.deepEqual(terminalEnvironment(url, 'session-token', 'signed-in'), proxyEnvironment(url, 'session-token'));
      assert.equal(terminalEnvironment(url, undefined, 'unknown'), undefined, 'not known yet: the terminals keep what they have');
      assert.equal(terminalEnvironment(undefined, undefined, 'missing'), undefined, 'no proxy address yet');
    });

    it('names the palette command exactly as package.json contributes it', () => {
      const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '../../../package.json'), 'utf8')) as { contributes: { commands: { command: string; title: string; category?: string }[] } };
      const c = pkg.contributes.commands.find((x) => x.command === SIGN_IN_COMMAND.id);
      assert.equal(c && `${c.category}: ${c.title}`, SIGN_IN_COMMAND.title);
    });

    it('the proxy refuses the placeholder as a sign-in, with the command’s name, whatever the bundle says', async () => {
      await assert.rejects(TokenVerifier.create(referencePolicy(), undefined).verify(SIGN_IN_PLACEHOLDER, NOW), (e: unknown) => IdentityError.is(e, 'sign-in-required') && e.message.includes(`"${SIGN_IN_COMMAND.title}"`));
    });
  });
});
