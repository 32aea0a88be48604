import * as assert from 'node:assert/strict';
import type { StateSnapshot } from '../../../src/contracts/admin';
import { SINGLE_INSTANT_PAD_S, spendSeries, timeAxisRange, timeTickLabels } from '../../../src/views/dashboard-model';

const day = (iso: string): number => Date.parse(iso) / 1000;

describe('the spend chart time axis', () => {
  it('spans exactly the data when there are several instants', () => {
    assert.deepEqual(timeAxisRange([day('2026-11-01T00:00:00Z'), day('2026-11-27T00:00:00Z')]), [day('2026-11-01T00:00:00Z'), day('2026-11-27T00:00:00Z')]);
    assert.deepEqual(timeAxisRange([30, null, 10, 20]), [10, 30], 'unsorted, with gaps');
  });

  it('gives a single instant the day around it, never years', () => {
    const t = day('2026-11-27T16:20:00Z');
    const [min, max] = timeAxisRange([t]);
    assert.equal(min, t - SINGLE_INSTANT_PAD_S);
    assert.equal(max, t + SINGLE_INSTANT_PAD_S);
    assert.equal(max! - min!, 86_400, 'one day wide');
    assert.deepEqual(timeAxisRange([t, t]), [t - SINGLE_INSTANT_PAD_S, t + SINGLE_INSTANT_PAD_S], 'the same instant twice is still one');
    assert.deepEqual(timeAxisRange([t], 60), [t - 60, t + 60]);
  });

  it('has no range without data', () => {
    assert.deepEqual(timeAxisRange([]), [null, null]);
    assert.deepEqual(timeAxisRange([null, Number.NaN]), [null, null]);
  });

  it('labels ticks in UTC: times of day (the first with its date), days, or months with their year', () => {
    assert.deepEqual(timeTickLabels([day('2026-11-27T06:00:00Z'), day('2026-11-27T12:00:00Z'), day('2026-11-28T00:00:00Z')], 6 * 3600), ['Nov 27 06:00 UTC', '12:00', '00:00']);
    assert.deepEqual(timeTickLabels([day('2026-11-27T16:20:05Z'), day('2026-11-27T16:20:10Z')], 5), ['Nov 27 16:20:05 UTC', '16:20:10']);
    assert.deepEqual(timeTickLabels([day('2026-11-20T00:00:00Z'), day('2026-11-27T00:00:00Z')], 7 * 86_400), ['Nov 20', 'Nov 27']);
    assert.deepEqual(timeTickLabels([day('2026-11-01T00:00:00Z'), day('2026-12-01T00:00:00Z')], 30 * 86_400), ['Nov 2026', 'Dec 2026']);
  });

  it('charts the one day with spend when no recent decision is left (after a restart)', () => {
    const row = { key: '2026-11-27', requests: 1, input_tokens: 1, output_tokens: 1, usd: 0.5 };
    const snap = { recent: [], spend: { byUser: [], byAgent: [], byModel: [], byDay: [row] } } as unknown as StateSnapshot;
    const [xs, ys] = spendSeries(snap);
    assert.deepEqual(xs, [day('2026-11-27T00:00:00Z')]);
    assert.deepEqual(ys, [0.5]);
    assert.deepEqual(timeAxisRange(xs), [day('2026-11-26T12:00:00Z'), day('2026-11-27T12:00:00Z')]);
  });
});
