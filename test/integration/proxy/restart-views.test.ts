import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { MockUpstream } from '../../helpers/mock-upstream';
import { startTestProxy } from '../../helpers/proxy';

describe('proxy views after a restart', () => {
  let mock: MockUpstream;
  let upstream: string;
  before(async () => {
    mock = new MockUpstream();
    upstream = await mock.start();
  });
  after(() => mock.stop());

  it('lists the accumulators the ledger holds spend for, before any call touches them again', async () => {
    const first = await startTestProxy(upstream);
    const dataDir = first.dataDir;
    try {
      const client = new OpenAI({ apiKey: await first.token('dana@acme.dev', { agent: 'nb' }), baseURL: `${first.url}/openai/v1`, maxRetries: 0 });
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
    } finally {
      await first.stop();
    }

    const second = await startTestProxy(upstream, { dataDir });
    try {
      const state = await second.state();
      const mine = state.accumulators.filter((a) => a.key.includes('dana@acme.dev'));
      const tokens = mine.find((a) => a.rule === 'user-tokens' && a.key === 'user:dana@acme.dev');
      assert.ok(tokens, `user-tokens for dana is listed: ${JSON.stringify(state.accumulators)}`);
      assert.equal(tokens.kind, 'limit');
      assert.equal(tokens.unit, 'tokens');
      assert.ok(tokens.used > 0, 'with the spend restored from the ledger');
      const daily = mine.find((a) => a.rule === 'user-daily' && a.key === 'user:dana@acme.dev');
      assert.ok(daily, 'the budget is listed too');
      assert.equal(daily.kind, 'budget');
      assert.equal(daily.unit, 'usd');
      assert.deepEqual(daily.alertAt, [0.5, 0.8]);
      assert.ok(mine.some((a) => a.rule === 'agent-burst' && a.key === 'agent:dana@acme.dev/nb'));
    } finally {
      await second.stop();
    }
  });
});
