import * as assert from 'node:assert/strict';
import { environmentDescription, proxyEnvironment } from '../../../src/extension/core/terminal-env';

describe('terminal environment for the proxy', () => {
  it('points OpenAI (with /v1) and Anthropic (without) at the proxy and puts the session token where SDKs read keys', () => {
    const env = proxyEnvironment('http://127.0.0.1:4100/', 'session-token');
    assert.deepEqual(env, {
      OPENAI_BASE_URL: 'http://127.0.0.1:4100/openai/v1',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:4100/anthropic',
      OPENAI_API_KEY: 'session-token',
      ANTHROPIC_API_KEY: 'session-token',
      AZURE_OPENAI_ENDPOINT: 'http://127.0.0.1:4100/azure-openai',
      AZURE_OPENAI_API_KEY: 'session-token',
      OPENAI_API_VERSION: '2024-10-21',
      TOLLGATE_PROXY_URL: 'http://127.0.0.1:4100',
    });
  });

  it('describes what it changes, for the terminal’s environment hover', () => {
    assert.match(environmentDescription, /OPENAI_BASE_URL/);
    assert.match(environmentDescription, /session token/);
  });
});
