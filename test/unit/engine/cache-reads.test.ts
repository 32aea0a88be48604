import assert from 'node:assert/strict';
import type { Usage } from '../../../src/engine/decision';
import { loadPolicy } from '../../../src/engine/policy/loader';
import { Replay } from '../../../src/engine/replay';
import { settledAmounts } from '../../../src/engine/settlement';
import { decisionBody, settleBody } from '../../../src/store/ledger/call-records';
import { chat, engineFor, limitOf, person } from '../../helpers/engine';
import { NOW, policyFrom, referenceText } from '../../helpers/policy';

// A token limit counts all input by default; `cache_reads: skip` leaves cache reads out, as
// Anthropic's own input-token limits do. The reservation before a call holds the worst case
// either way; a restart restores the same amounts from the ledger.

const tokensLimit = 'limit: 200000\n    cost: tokens\n';
const skipping = policyFrom(referenceText.replace(tokensLimit, `${tokensLimit}    cache_reads: skip\n`));
const agentTurn: Usage = { input_tokens: 21_050, cache_read_input_tokens: 20_000, cache_write_input_tokens: 1_000, output_tokens: 50 };

describe('token limits and cache reads', () => {
  it('settledAmounts counts cache reads unless the accumulator skips them', () => {
    const held = [{ unit: 'tokens' as const, amount: 30_000 }, { unit: 'tokens' as const, amount: 30_000, skipsCacheReads: true }, { unit: 'requests' as const, amount: 1 }];
    assert.deepEqual(settledAmounts(held, agentTurn, 1, 0.1), [21_100, 1_100, 1]);
    assert.deepEqual(settledAmounts(held, agentTurn, 5, 0.1), [105_500, 5_500, 1], 'weighted');
    assert.deepEqual(settledAmounts(held, undefined, 1, 0.1), [30_000, 30_000, 1], 'unknown usage stays at the worst case');
  });

  const cases = [
    { name: 'by default a limit counts all input, cache reads included', policy: policyFrom(referenceText), after: 21_100 },
    { name: 'cache_reads: skip leaves them out', policy: skipping, after: 1_100 },
  ];
  for (const c of cases) {
    it(`${c.name}; a replay restores the same amount`, async () => {
      const live = engineFor(c.policy);
      const bob = person('bob@acme.dev', c.policy);
      const d = await live.engine.decide({ identity: bob, call: chat('claude-haiku-4-5', 'hello there', { max_tokens: 100 }) }, NOW);
      assert.ok(d.hold);
      const reserved = limitOf(d, 'user-tokens');
      assert.equal(reserved.after - reserved.before, d.reserved.input_tokens + d.reserved.output_tokens, 'the reservation assumes no cache hit');
      const settled = await live.engine.settle(d, agentTurn, NOW + 5);
      assert.equal(limitOf({ ...d, limits: settled.limits }, 'user-tokens').after, c.after);

      const restored = engineFor(c.policy);
      const replay = new Replay(restored.engine, restored.store);
      await replay.decision({ id: 'd1', ...decisionBody(d, 200) }, NOW);
      await replay.settle(settleBody('d1', settled, 200, false), NOW + 5);
      const accumulators = d.hold.charges.map((h) => ({ key: h.key, spec: h.spec }));
      assert.deepEqual(restored.store.peekNow(accumulators, NOW + 10), live.store.peekNow(accumulators, NOW + 10));
    });
  }

  it('the loader refuses cache_reads on a limit that does not count tokens', () => {
    const r = loadPolicy(referenceText.replace('    cost: requests\n', '    cost: requests\n    cache_reads: skip\n'), NOW);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.errors.map((e) => e.message).join('\n'), /'cache_reads' applies to limits with cost: tokens/);
  });
});
