import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { issueAgentTokens, sessionKeyMinter } from '../../../src/extension/core/agent-tokens';
import { parseConfiguration } from '../../../src/extension/core/config';
import { mintEditorToken } from '../../../src/extension/core/session';
import { terminalEnvironment } from '../../../src/extension/core/terminal-env';
import type { ProxyEnvironment } from '../../../src/extension/core/terminal-env';
import { handedTokenOf } from '../../../src/extension/core/window-tokens';
import { MockUpstream } from '../../helpers/mock-upstream';
import { startTestProxy } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';

// The editor's per-agent tokens against a real proxy: the window's terminals get, in Codex's own key
// variable, the token `tollgate.agentScopes` narrows for it, and the proxy holds Codex to that scope
// while the SDKs in the same terminal keep the window's token.

const POLICY = `version: 1
name: agent-scopes
providers:
  openai: { upstream: "http://127.0.0.1:9", style: openai, key_env: OPENAI_API_KEY }
identity:
  required: true
prices:
  gpt-4o-mini: { input: 1000, output: 1000 }
  gpt-4o: { input: 1000, output: 1000 }
entitlements:
  default:
    models: ["*"]
    routes: [/v1/chat/completions, /v1/responses]
`;

const USER = 'dev@acme.dev';

const chat = (apiKey: string, proxyUrl: string, model: string): Promise<OpenAI.ChatCompletion> =>
  new OpenAI({ apiKey, baseURL: `${proxyUrl}/openai/v1`, maxRetries: 0 }).chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });

async function refusal(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await call;
  } catch (err) {
    if (err instanceof OpenAI.APIError) return err;
    throw err;
  }
  assert.fail('the call was admitted');
}

/** What a new terminal of the window gets for this setting, through the editor's own functions. */
async function terminalFor(proxy: TestProxy, agentScopes: unknown): Promise<{ env: ProxyEnvironment; warnings: readonly string[] }> {
  const now = Date.now();
  const config = parseConfiguration((key) => (key === 'agentScopes' ? agentScopes : undefined));
  const windowToken = await mintEditorToken(proxy.dataDir, USER, config.agent, config.tokenTtlHours * 3_600_000, now);
  const facts = handedTokenOf(windowToken)!;
  const issued = await issueAgentTokens(config.agentScopes, { user: facts.user, expiresAt: facts.expiresAt, minted: facts.minted }, sessionKeyMinter(proxy.dataDir), now);
  return { env: terminalEnvironment(proxy.url, windowToken, 'signed-in', issued.tokens)!, warnings: issued.warnings };
}

describe("the editor's per-agent tokens at the proxy", () => {
  let mock: MockUpstream;
  let proxy: TestProxy;

  before(async () => {
    mock = new MockUpstream();
    proxy = await startTestProxy(await mock.start(), { policyText: POLICY });
  });
  after(async () => {
    await proxy.stop();
    await mock.stop();
  });

  it("holds Codex's token to its scope (403, token-scope) and admits the model it allows; the SDKs' token is the window's", async () => {
    const { env, warnings } = await terminalFor(proxy, { codex: { models: ['gpt-4o-mini'], maxUsd: 1 } });
    assert.deepEqual(warnings, []);
    const codexKey = env.TOLLGATE_CODEX_API_KEY!;
    assert.notEqual(codexKey, env.OPENAI_API_KEY);

    const ok = await chat(codexKey, proxy.url, 'gpt-4o-mini');
    assert.equal(ok.choices[0]!.message.content, 'Hello from the mock');

    const refused = await refusal(chat(codexKey, proxy.url, 'gpt-4o'));
    assert.equal(refused.status, 403);
    assert.equal(refused.headers?.get('x-tollgate-rule'), 'token-scope');
    assert.match(refused.message, /token [0-9a-f]{8} of dev@acme\.dev is scoped to models gpt-4o-mini; max \$1, which does not include model 'gpt-4o'/);
    assert.ok(!refused.message.includes(codexKey));

    // A program in the same terminal, with the SDK's own variable, is not narrowed by Codex's scope.
    const sdk = await chat(env.OPENAI_API_KEY!, proxy.url, 'gpt-4o');
    assert.equal(sdk.choices[0]!.message.content, 'Hello from the mock');
  });

  it('refuses Codex a token when its entry does not read: the proxy says the setting is why (401)', async () => {
    const { env, warnings } = await terminalFor(proxy, { codex: { models: [] } });
    assert.match(warnings.join(' '), /models is an empty list/);
    const refused = await refusal(chat(env.TOLLGATE_CODEX_API_KEY!, proxy.url, 'gpt-4o-mini'));
    assert.equal(refused.status, 401);
    assert.match(refused.message, /tollgate\.agentScopes/);
    // The window's token still serves the SDKs.
    assert.equal((await chat(env.OPENAI_API_KEY!, proxy.url, 'gpt-4o-mini')).choices[0]!.message.content, 'Hello from the mock');
  });
});
