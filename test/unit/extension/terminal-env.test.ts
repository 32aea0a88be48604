import * as assert from 'node:assert/strict';
import { AGENT_NAMES, AGENT_STYLES, agentSetup } from '../../../src/agents/agents';
import { environmentDescription, proxyEnvironment } from '../../../src/extension/core/terminal-env';
import { registeredAdapters } from '../../../src/providers/registry';

describe('terminal environment for the proxy', () => {
  it('points OpenAI (with /v1), Anthropic and Gemini (without) at the proxy and puts the session token where SDKs read keys', () => {
    const env = proxyEnvironment('http://127.0.0.1:4100/', 'session-token');
    assert.equal(env.OPENAI_BASE_URL, 'http://127.0.0.1:4100/openai/v1');
    assert.equal(env.ANTHROPIC_BASE_URL, 'http://127.0.0.1:4100/anthropic');
    assert.equal(env.OPENAI_API_KEY, 'session-token');
    assert.equal(env.ANTHROPIC_API_KEY, 'session-token');
    assert.equal(env.AZURE_OPENAI_ENDPOINT, 'http://127.0.0.1:4100/azure-openai');
    assert.equal(env.AZURE_OPENAI_API_KEY, 'session-token');
    assert.equal(env.OPENAI_API_VERSION, '2024-10-21');
    assert.equal(env.GOOGLE_GEMINI_BASE_URL, 'http://127.0.0.1:4100/gemini');
    assert.equal(env.GEMINI_API_KEY, 'session-token');
    // The SDK reads GOOGLE_API_KEY before GEMINI_API_KEY: a real key left there must not win.
    assert.equal(env.GOOGLE_API_KEY, 'session-token');
    assert.equal(env.TOLLGATE_PROXY_URL, 'http://127.0.0.1:4100');
  });

  it('gives each coding agent whose style the proxy serves what `tollgate agents` gives it, and the header naming it', () => {
    const env = proxyEnvironment('http://127.0.0.1:4100', 'session-token');
    assert.equal(env.ANTHROPIC_CUSTOM_HEADERS, 'x-tollgate-agent: claude-code');
    assert.equal(env.TOLLGATE_CODEX_API_KEY, 'session-token');
    const served = new Set(registeredAdapters().map((a) => a.style));
    for (const agent of AGENT_NAMES) {
      const setup = agentSetup(agent, 'http://127.0.0.1:4100', 'session-token');
      for (const [name, value] of Object.entries(setup.env)) {
        // A switch of the agent's own behaviour is the person's choice in their terminals.
        if (name === 'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC') assert.equal(env[name], undefined);
        else if (served.has(AGENT_STYLES[agent])) assert.equal(env[name], value, `${agent}: ${name}`);
      }
    }
    // Gemini CLI's variables come with the style it speaks; until the proxy serves it, it keeps its own.
    if (served.has('gemini')) assert.equal(env.GEMINI_CLI_CUSTOM_HEADERS, 'x-tollgate-agent: gemini-cli');
    else assert.equal(env.GOOGLE_GEMINI_BASE_URL, undefined);
  });

  it('agrees with every style\'s own SDK variables where an agent reads the same one', () => {
    const env = proxyEnvironment('http://127.0.0.1:4100', 'session-token');
    for (const adapter of registeredAdapters()) {
      const { baseUrl, apiKey } = adapter.sdkEnvironment(`http://127.0.0.1:4100/${adapter.style}`, 'session-token');
      assert.equal(env[baseUrl.name], baseUrl.value);
      assert.equal(env[apiKey.name], apiKey.value);
    }
  });

  it('describes what it changes, for the terminal’s environment hover', () => {
    assert.match(environmentDescription, /OPENAI_BASE_URL/);
    assert.match(environmentDescription, /session token/);
  });
});
