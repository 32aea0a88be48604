import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { MockUpstream } from '../../helpers/mock-upstream';
import { loadPolicy } from '../../../src/engine/policy/loader';
import { createStore } from '../../../src/store/store-factory';
import type { ClosableStore } from '../../../src/store/store-factory';
import { referenceText } from '../../helpers/policy';
import { startTestProxy } from '../../helpers/proxy';
import { startRedis } from '../../helpers/redis';
import type { TestRedis } from '../../helpers/redis';

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

  describe('with the accumulators in Redis (a team gateway)', function () {
    this.timeout(120_000);
    let redis: TestRedis;
    before(async function () {
      this.timeout(300_000); // the first run on a machine may install redis-server
      redis = await startRedis();
    });
    after(() => redis?.dispose());

    async function redisStore(): Promise<ClosableStore> {
      const loaded = loadPolicy(referenceText);
      if (!loaded.ok) throw new Error('reference bundle does not load');
      return createStore(`${redis.url}?namespace=restart-views-${process.pid}`, loaded.policy, { startupWaitMs: 5_000 });
    }

    it('lists the accumulators after a restart of the gateway, with the amounts Redis holds', async () => {
      const firstStore = await redisStore();
      const first = await startTestProxy(upstream, { store: firstStore });
      const dataDir = first.dataDir;
      let usedBefore: number;
      try {
        const client = new OpenAI({ apiKey: await first.token('erin@acme.dev', { agent: 'nb' }), baseURL: `${first.url}/openai/v1`, maxRetries: 0 });
        await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
        const before = (await first.state()).accumulators.find((a) => a.rule === 'user-tokens' && a.key === 'user:erin@acme.dev');
        assert.ok(before, 'listed while running');
        usedBefore = before.used;
      } finally {
        await first.stop();
        await firstStore.close();
      }

      const secondStore = await redisStore();
      const second = await startTestProxy(upstream, { dataDir, store: secondStore });
      try {
        const state = await second.state();
        const tokens = state.accumulators.find((a) => a.rule === 'user-tokens' && a.key === 'user:erin@acme.dev');
        assert.ok(tokens, `user-tokens for erin is listed: ${JSON.stringify(state.accumulators)}`);
        assert.equal(tokens.used, usedBefore, 'with the amount the shared store holds');
        assert.ok(state.accumulators.some((a) => a.rule === 'user-daily' && a.key === 'user:erin@acme.dev'), 'the budget is listed too');
        assert.ok(state.accumulators.some((a) => a.rule === 'agent-burst' && a.key === 'agent:erin@acme.dev/nb'));
      } finally {
        await second.stop();
        await secondStore.close();
      }
    });
  });
});
