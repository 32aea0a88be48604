import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeJwt } from 'jose';
import { AGENT_SCOPE_PLACEHOLDER } from '../../../src/contracts/sign-in';
import { IdentityError } from '../../../src/engine/identity/identity';
import { RevocationSet } from '../../../src/engine/identity/revocation';
import { mintSessionToken, TokenVerifier } from '../../../src/engine/identity/tokens';
import { agentTokenTtlMs, parseAgentScopes, refusedAgents } from '../../../src/extension/core/agent-scopes';
import { agentTokensNeedRenewal, issueAgentTokens, sessionKeyMinter } from '../../../src/extension/core/agent-tokens';
import { parseConfiguration } from '../../../src/extension/core/config';
import { agentsOnlyRevoked, agentTokenRevokedMessage } from '../../../src/extension/core/identity-notices';
import { SIGN_OUT_REASON, signOut } from '../../../src/extension/core/sign-out';
import { agentKeyVariables, proxyEnvironment, terminalEnvironment } from '../../../src/extension/core/terminal-env';
import { handedTokenOf, WindowTokens } from '../../../src/extension/core/window-tokens';
import { addRevocations, readRevocations } from '../../../src/store/revocation-list';
import { loadSessionKeys } from '../../../src/store/session-key';
import { referencePolicy } from '../../helpers/policy';

const NOW = Date.parse('2026-11-27T12:00:00.000Z');
const HOUR = 3_600_000;
const USER = 'dev@example.test';

describe('agent scopes in the editor', () => {
  describe('the tollgate.agentScopes setting', () => {
    it('reads each agent’s models, routes, tools, USD cap and lifetime', () => {
      const s = parseAgentScopes({ codex: { models: ['gpt-4o-mini'], routes: ['/v1/responses'], tools: ['Bash'], maxUsd: 2, ttlHours: 1 }, 'claude-code': { ttlHours: 2 } });
      assert.deepEqual(s.problems, []);
      assert.deepEqual(s.scoped, [
        { agent: 'codex', scope: { models: ['gpt-4o-mini'], routes: ['/v1/responses'], tools: ['Bash'], maxUsd: 2 }, ttlHours: 1 },
        { agent: 'claude-code', scope: undefined, ttlHours: 2 },
      ]);
      assert.deepEqual(parseAgentScopes(undefined), { scoped: [], problems: [] });
      assert.deepEqual(parseConfiguration(() => undefined).agentScopes, { scoped: [], problems: [] });
    });

    it('names each bad value and refuses the agent it belongs to a token, keeping the good entries', () => {
      const cases: [unknown, RegExp][] = [
        ['all', /\["codex"\]: is not an object/],
        [{ models: 'gpt-4o-mini' }, /\["codex"\]: models is not a list of strings/],
        [{ models: [] }, /\["codex"\]: models is an empty list/],
        [{ models: [''] }, /\["codex"\]: models\[0\] is empty/],
        [{ tools: ['a*b*c*d*e*f*g*h*i*j'] }, /\["codex"\]: tools\[0\] has more than 8 wildcards/],
        [{ maxUsd: -1 }, /\["codex"\]: maxUsd is not a non-negative number/],
        [{ maxUsd: '2' }, /\["codex"\]: maxUsd is not a non-negative number/],
        [{ ttlHours: 0.1 }, /\["codex"\]: ttlHours is not a number of hours from 0.5 to 720/],
        [{ maxUsd: 1, ttlHours: 48 }, /\["codex"\]: ttlHours is longer than 24h/],
        [{ model: ['gpt-4o'] }, /\["codex"\]: unknown field 'model'/],
        [{}, /\["codex"\]: names no model, route, tool, USD cap or lifetime/],
      ];
      for (const [entry, message] of cases) {
        const s = parseAgentScopes({ codex: entry, 'claude-code': { models: ['claude-*'] } });
        assert.equal(s.problems.length, 1, JSON.stringify(entry));
        assert.match(s.problems[0]!.message, message);
        assert.deepEqual(refusedAgents(s), ['codex']);
        assert.deepEqual(s.scoped.map((e) => e.agent), ['claude-code']);
      }
    });

    it('says an unknown agent is not one the editor routes, and a setting that is not an object refuses every agent', () => {
      const unknown = parseAgentScopes({ aider: { models: ['x'] } });
      assert.match(unknown.problems[0]!.message, /\["aider"\]: is not an agent the editor routes/);
      assert.deepEqual(refusedAgents(unknown), []);
      assert.deepEqual(refusedAgents(parseAgentScopes(['codex'])).sort(), ['claude-code', 'codex', 'gemini-cli']);
    });

    it('gives an agent’s token no longer a life than the window’s token has left, and at most a day with a USD cap', () => {
      const [entry] = parseAgentScopes({ codex: { models: ['m'], ttlHours: 2 } }).scoped;
      assert.equal(agentTokenTtlMs(entry!, 8 * HOUR), 2 * HOUR);
      assert.equal(agentTokenTtlMs(entry!, HOUR), HOUR);
      const [capped] = parseAgentScopes({ codex: { maxUsd: 1 } }).scoped;
      assert.equal(agentTokenTtlMs(capped!, 720 * HOUR), 24 * HOUR);
      assert.equal(agentTokenTtlMs(capped!, 8 * HOUR), 8 * HOUR);
    });
  });

  describe('the terminals’ environment', () => {
    it('knows Codex’s key variable as its own, and Claude Code’s and Gemini CLI’s as shared with the SDKs', () => {
      assert.deepEqual(agentKeyVariables('codex'), { own: ['TOLLGATE_CODEX_API_KEY'], shared: [] });
      assert.deepEqual(agentKeyVariables('claude-code'), { own: [], shared: ['ANTHROPIC_API_KEY'] });
      assert.deepEqual(agentKeyVariables('gemini-cli'), { own: [], shared: ['GEMINI_API_KEY'] });
    });

    it('puts a scoped agent’s token in its own variable, leaves the shared ones and the header variables as they were', () => {
      const plain = proxyEnvironment('http://127.0.0.1:4100', 'window-token');
      const env = proxyEnvironment('http://127.0.0.1:4100', 'window-token', { codex: 'codex-token', 'claude-code': 'claude-token', 'gemini-cli': 'gemini-token' });
      assert.equal(env.TOLLGATE_CODEX_API_KEY, 'codex-token');
      for (const name of ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'GEMINI_API_KEY', 'GOOGLE_API_KEY', 'AZURE_OPENAI_API_KEY']) assert.equal(env[name], 'window-token', name);
      for (const [name, value] of Object.entries(plain)) if (name !== 'TOLLGATE_CODEX_API_KEY') assert.equal(env[name], value, name);
      assert.equal(env.ANTHROPIC_CUSTOM_HEADERS, 'x-tollgate-agent: claude-code');
      assert.deepEqual(Object.keys(env).sort(), Object.keys(plain).sort());
    });

    it('hands no agent token out while nobody is signed in', () => {
      const env = terminalEnvironment('http://127.0.0.1:4100', undefined, 'signed-out', { codex: 'codex-token' })!;
      assert.notEqual(env.TOLLGATE_CODEX_API_KEY, 'codex-token');
    });
  });

  describe('minting the agents’ tokens', () => {
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-scopes-'));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const window = { user: USER, expiresAt: NOW + 8 * HOUR, minted: true };

    it('mints each agent with its own variable a token naming it, with its scope, no longer-lived than the window’s', async () => {
      const s = parseAgentScopes({ codex: { models: ['gpt-4o-mini'], maxUsd: 2, ttlHours: 12 } });
      const issued = await issueAgentTokens(s, window, sessionKeyMinter(dir), NOW);
      assert.deepEqual(issued.warnings, []);
      const claims = decodeJwt(issued.tokens.codex!);
      assert.equal(claims.agent, 'codex');
      assert.equal(claims.email, USER);
      assert.deepEqual(claims.tollgate_scope, { models: ['gpt-4o-mini'], max_usd: 2 });
      assert.equal(claims.exp, (NOW + 8 * HOUR) / 1000);
      assert.match(issued.minted[0]!, /codex's own token for dev@example.test \(models gpt-4o-mini; max \$2; 8 h\)/);
      // The proxy reads the token as the agent's, scope and all.
      const identity = await TokenVerifier.create(referencePolicy(), loadSessionKeys(dir)).verify(issued.tokens.codex!, NOW);
      assert.equal(identity.agent, 'codex');
      assert.deepEqual(identity.token?.scope, { models: ['gpt-4o-mini'], maxUsd: 2 });
    });

    it('warns, naming the variable, that a scope cannot apply to an agent whose key variable the SDKs share, and mints it nothing', async () => {
      const issued = await issueAgentTokens(parseAgentScopes({ 'claude-code': { models: ['claude-*'] } }), window, sessionKeyMinter(dir), NOW);
      assert.deepEqual(issued.tokens, {});
      assert.match(issued.warnings[0]!, /\["claude-code"\] cannot apply in the editor's terminals: claude-code reads its key from ANTHROPIC_API_KEY/);
    });

    it('hands an agent whose entry does not read the placeholder, which the proxy refuses saying why', async () => {
      const issued = await issueAgentTokens(parseAgentScopes({ codex: { models: [] } }), window, sessionKeyMinter(dir), NOW);
      assert.equal(issued.tokens.codex, AGENT_SCOPE_PLACEHOLDER);
      assert.match(issued.warnings.join(' '), /models is an empty list.*codex is handed no token/);
      assert.equal(proxyEnvironment('http://127.0.0.1:4100', 'window-token', issued.tokens).TOLLGATE_CODEX_API_KEY, AGENT_SCOPE_PLACEHOLDER);
      await assert.rejects(TokenVerifier.create(referencePolicy(), loadSessionKeys(dir)).verify(AGENT_SCOPE_PLACEHOLDER, NOW), (e: unknown) => IdentityError.is(e, 'agent-scope-invalid') && /tollgate\.agentScopes/.test(e.message));
    });

    it('does not narrow a pasted identity-provider token: the scoped agent gets the placeholder', async () => {
      const issued = await issueAgentTokens(parseAgentScopes({ codex: { models: ['m'] } }), { ...window, minted: false }, sessionKeyMinter(dir), NOW);
      assert.equal(issued.tokens.codex, AGENT_SCOPE_PLACEHOLDER);
      assert.match(issued.warnings[0]!, /identity-provider token/);
    });

    it('renews an agent’s token before it expires, a short one a third of its life ahead', async () => {
      const issued = await issueAgentTokens(parseAgentScopes({ codex: { ttlHours: 0.5 } }), window, sessionKeyMinter(dir), NOW);
      assert.equal(agentTokensNeedRenewal(issued.tokens, NOW + 15 * 60_000), false);
      assert.equal(agentTokensNeedRenewal(issued.tokens, NOW + 21 * 60_000), true);
      assert.equal(agentTokensNeedRenewal({ codex: AGENT_SCOPE_PLACEHOLDER }, NOW), false);
    });

    it('records the agents’ tokens with the window’s, so Sign Out revokes them all and a revocation of one agent’s is noticed as that agent’s', async () => {
      const dataDir = fs.mkdtempSync(path.join(dir, 'data-'));
      const tokens = new WindowTokens();
      const windowToken = await mintSessionToken(loadSessionKeys(dataDir), { user: USER, agent: 'vscode', ttlMs: 8 * HOUR, now: NOW });
      tokens.note(windowToken);
      const issued = await issueAgentTokens(parseAgentScopes({ codex: { models: ['gpt-4o-mini'] } }), window, sessionKeyMinter(dataDir), NOW);
      const codex = tokens.note(issued.tokens.codex!)!;
      assert.equal(codex.agent, 'codex');
      assert.equal(codex.minted, true);
      assert.deepEqual(tokens.live(NOW).map((t) => t.agent), ['vscode', 'codex']);
      const hit = tokens.revokedBy({ id: 'rv_1', target: 'agent', value: 'codex', user: USER, revoked_at: new Date(NOW + 1).toISOString(), reason: null });
      assert.deepEqual(hit.map((t) => t.id), [codex.id]);
      const result = await signOut(tokens, { markSignedOut: async () => undefined, forget: async () => undefined, revoke: (r, now) => addRevocations(dataDir, r, now) }, NOW);
      assert.deepEqual(result, { revoked: 2 });
      const listed = readRevocations(dataDir);
      assert.deepEqual(listed.map((r) => [r.value, r.reason]), [windowToken, issued.tokens.codex!].map((t) => [handedTokenOf(t)!.id, SIGN_OUT_REASON]));
      // A revocation of the agent's token alone leaves the window's: only that agent loses its token.
      const agentIds = new Set([codex.id!]);
      assert.deepEqual(agentsOnlyRevoked(hit, agentIds), ['codex']);
      const everyone = tokens.revokedBy({ id: 'rv_2', target: 'user', value: USER, user: null, revoked_at: new Date(NOW + 1).toISOString(), reason: null });
      assert.equal(agentsOnlyRevoked(everyone, agentIds), undefined, "the window's own token is hit: the window signs out");
      const said = agentTokenRevokedMessage({ id: 'rv_1', target: 'agent', value: 'codex', user: USER, revoked_at: new Date(NOW + 1).toISOString(), reason: 'runaway' }, ['codex']);
      assert.match(said, /the token of 'codex' was revoked \(rv_1 revoked every token of agent 'codex' of dev@example\.test: runaway\)/);
      assert.ok(!said.includes(issued.tokens.codex!));
      // The proxy refuses the agent's token from the next request: the list read the way it reads it.
      const identity = await TokenVerifier.create(referencePolicy(), loadSessionKeys(dataDir)).verify(issued.tokens.codex!, NOW);
      assert.ok(new RevocationSet(listed).match(identity));
    });
  });
});
