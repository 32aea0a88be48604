// The editor starts the proxy without a key for a provider whose upstream the person has not
// approved; calls to that provider say so and name what to do, and nothing reaches the upstream.

import assert from 'node:assert/strict';
import { WITHHELD_KEYS_ENV } from '../../../src/pipeline/missing-key';
import { MockUpstream } from '../../helpers/mock-upstream';
import { startTestProxy, UPSTREAM_KEY } from '../../helpers/proxy';

describe('proxy started with a key withheld', () => {
  it('answers the no-key error naming the unapproved host and the command that approves it; other providers keep their key', async () => {
    const mock = new MockUpstream();
    const upstream = await mock.start();
    const p = await startTestProxy(upstream, { env: { ANTHROPIC_API_KEY: UPSTREAM_KEY, [WITHHELD_KEYS_ENV]: JSON.stringify({ openai: upstream }) } });
    try {
      const token = await p.token('bob@acme.dev');
      const r = await fetch(`${p.url}/openai/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
      });
      assert.equal(r.status, 502);
      const message = ((await r.json()) as { error: { message: string } }).error.message;
      assert.ok(message.includes(`sends 'openai' to ${upstream}`), message);
      assert.match(message, /Tollgate: Approve Upstream Hosts…/);
      assert.equal(mock.seen.length, 0, 'nothing went upstream');
      const ok = await fetch(`${p.url}/anthropic/v1/messages`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
      });
      assert.equal(ok.status, 200);
      assert.equal(mock.last().headers['x-api-key'], UPSTREAM_KEY);
    } finally {
      await p.stop();
      await mock.stop();
    }
  });
});
