import * as assert from 'node:assert/strict';
import { TIME_TICK_MIN_PX, timeAxisSpace } from '../../../src/views/dashboard-model';

describe('the room between the spend chart time ticks', () => {
  it('is at least a second wide, so calls made seconds apart never get ticks that repeat a label', () => {
    // Four seconds over 1000 pixels: a second is 250 pixels, so no tick is closer than a second.
    assert.equal(timeAxisSpace(1_000, 1_004, 1_000), 250);
    assert.equal(timeAxisSpace(1_000, 1_000.5, 1_000), 2_000, 'half a second: at most one tick a second');
  });

  it('leaves room for a label on wider axes', () => {
    assert.equal(timeAxisSpace(0, 86_400, 1_000), TIME_TICK_MIN_PX, 'a day');
    assert.equal(timeAxisSpace(0, 30 * 86_400, 1_000), TIME_TICK_MIN_PX, 'a month');
  });

  it('has the label room alone without a width', () => {
    assert.equal(timeAxisSpace(5, 5, 1_000), TIME_TICK_MIN_PX);
    assert.equal(timeAxisSpace(Number.NaN, 5, 1_000), TIME_TICK_MIN_PX);
  });
});
