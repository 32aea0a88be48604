import * as assert from 'node:assert/strict';
import { RestartBackoff } from '../../../src/extension/core/backoff';

describe('proxy restart backoff', () => {
  const options = { baseMs: 100, maxMs: 1_000, stableMs: 5_000, maxFailures: 5 };

  it('doubles the delay after each quick death, up to the maximum', () => {
    const b = new RestartBackoff(options);
    assert.deepEqual([b.next(10), b.next(10), b.next(10), b.next(10), b.next(10)], [100, 200, 400, 800, 1_000]);
  });

  it('gives up after too many consecutive quick deaths', () => {
    const b = new RestartBackoff(options);
    for (let i = 0; i < 5; i++) assert.notEqual(b.next(10), undefined);
    assert.equal(b.next(10), undefined);
  });

  it('starts over after a stable run or a reset', () => {
    const b = new RestartBackoff(options);
    b.next(10);
    b.next(10);
    assert.equal(b.next(6_000), 100);
    b.next(10);
    b.reset();
    assert.equal(b.next(10), 100);
  });
});
