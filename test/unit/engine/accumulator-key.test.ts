import assert from 'node:assert/strict';
import { accumulatorKey, parseAccumulatorKey } from '../../../src/engine/accumulator-key';

describe('AccumulatorKey', () => {
  const cases: readonly { rule: string; key: string; text: string }[] = [
    { rule: 'per-user', key: 'user:a@x.com', text: 'per-user#user:a@x.com' },
    { rule: 'max_calls_per_trace', key: 'trace:0af7', text: 'max_calls_per_trace#trace:0af7' },
    { rule: 'agent-burst', key: 'agent:bob@x.com/a#b', text: 'agent-burst#agent:bob@x.com/a#b' },
    { rule: 'global', key: '', text: 'global#' },
  ];
  for (const c of cases) {
    it(`round-trips ${JSON.stringify(c.text)}: the first '#' ends the rule, the identity key may hold '#'`, () => {
      assert.equal(accumulatorKey(c.rule, c.key), c.text);
      assert.deepEqual(parseAccumulatorKey(accumulatorKey(c.rule, c.key)), { rule: c.rule, key: c.key });
    });
  }
});
