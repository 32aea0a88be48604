import assert from 'node:assert/strict';
import { Engine } from '../../../../src/engine/decide';
import type { Policy } from '../../../../src/engine/policy/model';
import { MemoryStore } from '../../../../src/store/memory-store';
import { policyFrom, referencePolicy, referenceText } from '../../../helpers/policy';

// A guard's id names the guard in every record, so no rule may take one: a charge recorded under
// it is restored from the ledger as the guard.

/** The reference policy with its first limit renamed, as no loaded bundle can be. */
function withLimitNamed(id: string): Policy {
  const p = referencePolicy();
  return { ...p, limits: p.limits.map((l, i) => (i === 0 ? { ...l, id } : l)) };
}

describe('guard ids', () => {
  for (const id of ['max_calls_per_trace', 'max_agents_per_user']) {
    it(`refuses a policy whose limit takes the guard id '${id}' when the engine compiles it, so the ledger's ${id} is always the guard`, () => {
      assert.throws(() => new Engine(withLimitNamed(id), new MemoryStore()), (err: Error & { reason?: string }) => {
        assert.equal(err.reason, 'guard-id-taken');
        assert.match(err.message, new RegExp(`'${id}' is reserved for the guard`));
        return true;
      });
    });

    it(`refuses a bundle whose limit takes the guard id '${id}' at load, at the id`, () => {
      assert.throws(() => policyFrom(referenceText.replace('id: pii-flow', `id: ${id}`)), new RegExp(`id '${id}' is reserved for the guard`));
    });
  }

  it('restores a charge under the trace guard\'s id as the guard, and a rule\'s as the rule', () => {
    const policy = referencePolicy();
    const engine = new Engine(policy, new MemoryStore());
    assert.deepEqual(engine.accumulatorFor('max_calls_per_trace'), { spec: { type: 'trace', ttlMs: policy.guards.traceTtlMs, limit: policy.guards.maxCallsPerTrace }, unit: 'requests' });
    assert.deepEqual(engine.accumulatorFor('agent-burst')?.spec, { type: 'bucket', ratePerMs: 1 / 1000, burst: 20 });
    assert.equal(engine.accumulatorFor('gone'), undefined);
  });
});
