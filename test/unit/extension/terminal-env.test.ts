import * as assert from 'node:assert/strict';
import { environmentDescription, proxyEnvironment } from '../../../src/extension/core/terminal-env';

describe('terminal environment for the proxy', () => {
  it('points OpenAI (with /v1), Anthropic and Gemini (without) at the proxy and puts the session token where SDKs read keys', () => {
    const env = proxyEnvironment('http://127.0.0.1:4100/', 'session-token');
    assert.deepEqual(env, {
      OPENAI_BASE_URL: 'http://127.0.0.1:4100/openai/v1',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:4100/anthropic',
      OPENAI_API_KEY: 'session-token',
      ANTHROPIC_API_KEY: 'session-token',
      GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:4100/gemini',
      // The SDK reads GOOGLE_API_KEY before GEMINI_API_KEY: a real key left there must not win.
      GEMINI_API_KEY: 'session-token',
      GOOGLE_API_KEY: 'session-token',
      TOLLGATE_PROXY_URL: 'http://127.0.0.1:4100',
    });
  });

  it('describes what it changes, for the terminal’s environment hover', () => {
    assert.match(environmentDescription, /OPENAI_BASE_URL/);
    assert.match(environmentDescription, /session token/);
  });
});
