import assert from 'node:assert/strict';
import { MockUpstream } from '../../helpers/mock-upstream';
import { startTestProxy } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';
import { rawRequest } from '../../helpers/raw-http';
import type { DecisionRecord } from '../../../src/contracts/audit-records';

describe('routes: the engine decides on exactly the path that goes upstream', () => {
  let mock: MockUpstream;
  let p: TestProxy;
  let token: string;
  before(async () => {
    mock = new MockUpstream();
    p = await startTestProxy(await mock.start());
    token = await p.token('bob@acme.dev');
  });
  after(async () => {
    await p.stop();
    await mock.stop();
  });

  const chat = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], n: 8, max_tokens: 100_000, stream: true });

  async function send(method: string, target: string, body = chat): Promise<{ status: number; headers: Record<string, string>; body: string; reachedUpstream: boolean }> {
    const before = mock.seen.length;
    const r = await rawRequest(p.url, { method, target, body, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
    return { ...r, reachedUpstream: mock.seen.length > before };
  }

  for (const target of [
    '/openai/v1/chat/completions#x',
    '/openai/v1/chat/completions;x=1',
    '/openai/v1/chat;v=2/completions',
    '/openai/v1/chat/%63ompletions',
    '/openai/v1/chat/completions?stream=true#frag',
    '/openai/v1//chat/completions',
    '/openai/v1/chat/completions/',
  ]) {
    it(`refuses the non-canonical spelling ${target} with 400 before it reaches the provider`, async () => {
      const r = await send('POST', target);
      assert.equal(r.status, 400, r.body);
      assert.equal(r.reachedUpstream, false);
      assert.match(r.headers['x-tollgate-decision'] ?? '', /^[0-9A-Z]{26}$/);
    });
  }

  it('refuses a route of another style with 404 naming both styles', async () => {
    const r = await send('POST', '/anthropic/v1/chat/completions');
    assert.equal(r.status, 404, r.body);
    assert.equal(r.reachedUpstream, false);
    assert.match(JSON.parse(r.body).error.message, /route of the openai style.*speaks anthropic/);
    const back = await send('POST', '/openai/v1/messages', JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }));
    assert.equal(back.status, 404);
    assert.equal(back.reachedUpstream, false);
  });

  it('refuses a route its style does not know with 404, never passing it through uncapped', async () => {
    for (const target of ['/openai/v1/files', '/openai/v1/chat/completions/extra', '/openai/V1/chat/completions', '/openai/v2/chat/completions']) {
      const r = await send('POST', target);
      assert.equal(r.status, 404, `${target}: ${r.body}`);
      assert.equal(r.reachedUpstream, false, target);
    }
  });

  it('answers a generation route called with the wrong method 405 with Allow, and forwards nothing', async () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
      const r = await send(method, '/openai/v1/chat/completions');
      assert.equal(r.status, 405, `${method}: ${r.body}`);
      assert.equal(r.headers.allow, 'POST');
      assert.equal(r.reachedUpstream, false, method);
    }
    const r = await send('POST', '/openai/v1/models');
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'GET, HEAD');
  });

  it('lists models with GET and forwards no body with it', async () => {
    const r = await send('GET', '/openai/v1/models');
    assert.equal(r.status, 200, r.body);
    assert.equal(mock.last().url, '/v1/models');
    assert.equal(mock.last().body, undefined, 'a GET carries nothing upstream');
  });

  it('decides a canonical call on the same path and query it forwards', async () => {
    const r = await send('POST', '/openai/v1/chat/completions?trace=1');
    assert.equal(r.status, 200, r.body);
    assert.equal(mock.last().url, '/v1/chat/completions?trace=1');
    const rec = (await p.records()).find((x) => x.id === r.headers['x-tollgate-decision']) as DecisionRecord | undefined;
    assert.equal(rec?.route, '/v1/chat/completions');
    assert.equal(rec?.reserved.output_tokens, 8 * 8192, 'n = 8 choices, each clamped to the entitlement');
    assert.equal(mock.last().body!.max_tokens, 8192);
  });
});
