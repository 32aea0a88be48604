import assert from 'node:assert/strict';
import type { Usage } from '../../../src/engine/decision';
import { Replay } from '../../../src/engine/replay';
import { decisionBody, settleBody } from '../../../src/store/ledger/call-records';
import { chat, engineFor, person } from '../../helpers/engine';
import { NOW } from '../../helpers/policy';

// Replaying a call's records must leave every accumulator where deciding and settling it live did.

describe('Replay', () => {
  const cases: readonly { name: string; usage: Usage | undefined | 'unsettled'; maxTokens: number }[] = [
    { name: 'a call settled at its real usage', usage: { input_tokens: 12, output_tokens: 40 }, maxTokens: 500 },
    { name: 'a call whose usage was never reported (held tokens stay, at the reserved worst case)', usage: undefined, maxTokens: 300 },
    { name: 'a call that used nothing', usage: { input_tokens: 0, output_tokens: 0 }, maxTokens: 100 },
    { name: 'a decision with no settle record (a crash mid-call)', usage: 'unsettled', maxTokens: 200 },
  ];
  for (const c of cases) {
    it(`rebuilds ${c.name} as it was charged live`, async () => {
      const live = engineFor();
      const bob = person('bob@acme.dev', live.policy);
      const d = await live.engine.decide({ identity: bob, call: chat('gpt-4o-mini', 'hello there', { max_tokens: c.maxTokens }) }, NOW);
      assert.ok(d.hold);
      const settled = c.usage === 'unsettled' ? undefined : await live.engine.settle(d, c.usage, NOW + 5);

      const restored = engineFor(live.policy);
      const replay = new Replay(restored.engine, restored.store);
      await replay.decision({ id: 'd1', ...decisionBody(d, 200) }, NOW);
      if (settled) await replay.settle(settleBody('d1', settled, 200, false), NOW + 5);

      const accumulators = d.hold.charges.map((h) => ({ key: h.key, spec: h.spec }));
      assert.deepEqual(restored.store.peekNow(accumulators, NOW + 10), live.store.peekNow(accumulators, NOW + 10));
      assert.equal(replay.decisions, 1);
      assert.equal(replay.unsettled, settled ? 0 : 1);
    });
  }

  it('skips a settle record whose decision it never replayed', async () => {
    const { engine, store } = engineFor();
    const replay = new Replay(engine, store);
    await replay.settle({ decision: 'unknown', usage: { input_tokens: 1, output_tokens: 1 }, usd: 1 }, NOW);
    assert.equal(replay.decisions, 0);
    assert.equal(store.size, 0);
  });
});

describe('Engine.replayFrom', () => {
  it('reaches back to the longest-lived accumulator the policy keeps, and at least a day', () => {
    const { engine, policy } = engineFor();
    const longest = Math.max(86_400_000, policy.guards.traceTtlMs, ...policy.budgets.map((b) => (b.period.type === 'rolling' ? b.period.ms : b.period.unit === 'month' ? 31 * 86_400_000 : 86_400_000)));
    assert.equal(engine.replayFrom(NOW), NOW - longest);
  });
});
