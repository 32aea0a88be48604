// A terminal of an editor where nobody has signed in: the environment the editor gives it (proxy
// addresses, the sign-in placeholder where the token goes), used by the official SDKs as they read
// it. Each call is refused 401 with the way to sign in, even under a bundle that admits anonymous
// calls, and nothing reaches the provider; once signed in, the same variables carry the person.

import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { ApiError, GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { SIGN_IN_COMMAND } from '../../../src/contracts/command-titles';
import { terminalEnvironment } from '../../../src/extension/core/terminal-env';
import { MockUpstream } from '../../helpers/mock-upstream';
import { referenceText } from '../../helpers/policy';
import { startTestProxy, UPSTREAM_KEY } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';

describe('a terminal before signing in, as the SDKs see it', () => {
  let mock: MockUpstream;
  let proxy: TestProxy;
  before(async () => {
    mock = new MockUpstream();
    const upstream = await mock.start();
    // Anonymous calls admitted: the placeholder is refused all the same.
    const anonymous = referenceText.replace('  required: true\n', '  required: false\n');
    assert.notEqual(anonymous, referenceText);
    proxy = await startTestProxy(upstream, { policyText: anonymous });
  });
  after(async () => {
    await proxy?.stop();
    await mock?.stop();
  });

  const signIn = new RegExp(`no Tollgate identity yet.*"${SIGN_IN_COMMAND.title}"`);

  it('refuses OpenAI, Anthropic and Gemini calls with 401 and the way to sign in; nothing reaches the provider', async () => {
    const env = terminalEnvironment(proxy.url, undefined, 'missing');
    assert.ok(env);
    assert.ok(!Object.values(env).includes(UPSTREAM_KEY));
    const seen = mock.seen.length;

    const openai = new OpenAI({ apiKey: env.OPENAI_API_KEY, baseURL: env.OPENAI_BASE_URL, maxRetries: 0 });
    const o = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }).catch((e: unknown) => e);
    assert.ok(o instanceof OpenAI.AuthenticationError, String(o));
    assert.match(o.message, signIn);
    assert.equal(o.headers?.get('x-tollgate-rule'), 'identity');

    const anthropic = new Anthropic({ apiKey: env.ANTHROPIC_API_KEY, baseURL: env.ANTHROPIC_BASE_URL, maxRetries: 0 });
    const a = await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    assert.ok(a instanceof Anthropic.AuthenticationError, String(a));
    assert.match((a.error as { error: { message: string } }).error.message, signIn);

    const gemini = new GoogleGenAI({ apiKey: env.GEMINI_API_KEY, httpOptions: { baseUrl: env.GOOGLE_GEMINI_BASE_URL } });
    const g = await gemini.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }).catch((e: unknown) => e);
    assert.ok(g instanceof ApiError, String(g));
    assert.equal(g.status, 401);
    assert.match((JSON.parse(g.message) as { error: { message: string } }).error.message, signIn);

    assert.equal(mock.seen.length, seen, 'no call went upstream');
  });

  it('carries the person once signed in: the same variables with the session token', async () => {
    const env = terminalEnvironment(proxy.url, await proxy.token('dev@example.test'), 'signed-in');
    assert.ok(env);
    const openai = new OpenAI({ apiKey: env.OPENAI_API_KEY, baseURL: env.OPENAI_BASE_URL, maxRetries: 0 });
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
    assert.equal(mock.last().headers['x-tollgate-user'], 'dev@example.test');
    assert.equal(mock.last().headers.authorization, `Bearer ${UPSTREAM_KEY}`);
  });
});
