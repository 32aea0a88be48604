import assert from 'node:assert/strict';
import { AccumulatorReadModel } from '../../../src/views/accumulator-read-model';
import { engineFor } from '../../helpers/engine';

describe('the views\' accumulator read model', () => {
  it('lists each accumulator once, forgetting the longest known past its capacity', () => {
    const m = new AccumulatorReadModel(2);
    m.note({ rule: 'user-rate', kind: 'limit', key: 'user:a', unit: 'requests' });
    m.note({ rule: 'user-rate', kind: 'limit', key: 'user:a', unit: 'requests' });
    m.note({ rule: 'user-rate', kind: 'limit', key: 'user:b', unit: 'requests' });
    m.note({ rule: 'user-daily', kind: 'budget', key: 'user:a', unit: 'usd' });
    assert.deepEqual(m.list().map((r) => `${r.rule} ${r.key}`), ['user-rate user:b', 'user-daily user:a']);
  });

  it('names a recorded accumulator as the bundle in force defines it, and leaves out rules it no longer has', () => {
    const { engine } = engineFor();
    const m = new AccumulatorReadModel();
    m.noteRecorded([
      { rule: 'user-tokens', key: 'user:a' },
      { rule: 'user-daily', key: 'user:a' },
      { rule: 'max_agents_per_user', key: 'user:a' },
      { rule: 'gone-rule', key: 'user:a' },
    ], engine);
    assert.deepEqual(m.list(), [
      { rule: 'user-tokens', kind: 'limit', key: 'user:a', unit: 'tokens' },
      { rule: 'user-daily', kind: 'budget', key: 'user:a', unit: 'usd' },
      { rule: 'max_agents_per_user', kind: 'guard', key: 'user:a', unit: 'requests' },
    ]);
  });
});
