import assert from 'node:assert/strict';
import { periodEnd, periodStart } from '../../../src/engine/limiters/calendar';
import type { AccumulatorSpec } from '../../../src/engine/limiters/spec';
import { parseDuration, parseExpiry, parseRate } from '../../../src/engine/units';
import { MemoryStore } from '../../../src/store/memory-store';

const T = Date.parse('2026-11-25T15:30:00Z'); // a Wednesday

describe('limiter building blocks', () => {
  it('parses rates, durations and expiry dates', () => {
    assert.equal(parseRate('60/min')!.perMs, 60 / 60_000);
    assert.equal(parseRate('1000/h')!.perMs, 1000 / 3_600_000);
    assert.equal(parseRate('5/s')!.perMs, 5 / 1000);
    assert.equal(parseRate('10/day')!.perMs, 10 / 86_400_000);
    for (const bad of ['60', '/min', '0/min', '-1/min', '60/fortnight', '1e3/min']) assert.equal(parseRate(bad), undefined, bad);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('1d'), 86_400_000);
    assert.equal(parseDuration('0s'), undefined);
    assert.equal(parseExpiry('2026-12-31'), Date.parse('2027-01-01T00:00:00Z'), 'a bare date runs through that UTC day');
    assert.equal(parseExpiry('2026-12-31T10:00:00Z'), Date.parse('2026-12-31T10:00:00Z'));
    assert.equal(parseExpiry('2026-02-29'), undefined, '2026 is not a leap year');
    assert.equal(parseExpiry('2026-04-31'), undefined);
  });

  it('uses UTC calendar periods: day, ISO week from Monday, month', () => {
    assert.equal(periodStart('day', T), Date.parse('2026-11-25T00:00:00Z'));
    assert.equal(periodStart('week', T), Date.parse('2026-11-23T00:00:00Z'));
    assert.equal(periodStart('week', Date.parse('2026-11-29T23:59:59Z')), Date.parse('2026-11-23T00:00:00Z'), 'Sunday belongs to the week that began on Monday');
    assert.equal(periodStart('month', T), Date.parse('2026-11-01T00:00:00Z'));
    assert.equal(periodEnd('month', Date.parse('2026-12-15T00:00:00Z')), Date.parse('2027-01-01T00:00:00Z'));
  });

  it('resets a calendar budget at the period boundary and re-arms its alerts', () => {
    const spec: AccumulatorSpec = { type: 'calendar', unit: 'day', limit: 10, alertAt: [0.5] };
    const store = new MemoryStore();
    const r = store.reserveNow([{ key: 'b', spec, amount: 6 }], T);
    assert.ok(r.ok);
    if (!r.ok) return;
    assert.deepEqual(store.settleNow(r.hold, [6], T).alerts.map((a) => a.threshold), [0.5]);
    assert.equal(store.reserveNow([{ key: 'b', spec, amount: 5 }], T).ok, false);
    const next = store.reserveNow([{ key: 'b', spec, amount: 6 }], Date.parse('2026-11-26T00:00:00Z'));
    assert.ok(next.ok);
    if (next.ok) assert.deepEqual(store.settleNow(next.hold, [6], Date.parse('2026-11-26T00:00:01Z')).alerts.map((a) => a.threshold), [0.5]);
  });

  it('settles a hold once: a second settle or a release after it moves no counter', async () => {
    const spec: AccumulatorSpec = { type: 'calendar', unit: 'day', limit: 10, alertAt: [] };
    const store = new MemoryStore();
    const r = store.reserveNow([{ key: 'b', spec, amount: 6 }], T);
    assert.ok(r.ok);
    if (!r.ok) return;
    assert.equal(store.settleNow(r.hold, [4], T).results[0]?.after, 4);
    assert.equal(store.settleNow(r.hold, [4], T).results[0]?.after, 4, 'not charged twice');
    await store.release(r.hold, T);
    assert.equal((await store.peek([{ key: 'b', spec }], T))[0]?.before, 4, 'a release after the settle refunds nothing');
  });

  it('lets a rolling budget free spend as it ages out', () => {
    const spec: AccumulatorSpec = { type: 'rolling', windowMs: 86_400_000, limit: 10, alertAt: [] };
    const store = new MemoryStore();
    assert.ok(store.reserveNow([{ key: 'r', spec, amount: 10 }], T).ok);
    const refused = store.reserveNow([{ key: 'r', spec, amount: 1 }], T + 3_600_000);
    assert.equal(refused.ok, false);
    if (!refused.ok) assert.equal(refused.results[0]!.retryAfterMs, 86_400_000 - 3_600_000);
    assert.ok(store.reserveNow([{ key: 'r', spec, amount: 1 }], T + 86_400_000).ok);
  });

  it('keeps a sliding window\'s memory bounded however many charges it takes', () => {
    const spec: AccumulatorSpec = { type: 'window', windowMs: 3_600_000, limit: 1e9 };
    const store = new MemoryStore();
    for (let i = 0; i < 20_000; i++) store.reserveNow([{ key: 'w', spec, amount: 1 }], T + i * 500);
    const state = (store as unknown as { values: Map<string, { slots: number[] }> }).values.get('w')!;
    assert.ok(state.slots.length <= 1025, `${state.slots.length} slots`);
  });

  it('forgets a trace after its time to live', () => {
    const spec: AccumulatorSpec = { type: 'trace', ttlMs: 60_000, limit: 2 };
    const store = new MemoryStore();
    assert.ok(store.reserveNow([{ key: 't', spec, amount: 1 }], T).ok);
    assert.ok(store.reserveNow([{ key: 't', spec, amount: 1 }], T).ok);
    assert.equal(store.reserveNow([{ key: 't', spec, amount: 1 }], T + 59_999).ok, false);
    assert.ok(store.reserveNow([{ key: 't', spec, amount: 1 }], T + 60_000).ok);
  });

  it('counts distinct names in a sliding window: a known name always fits, a new one only under the limit', () => {
    const spec = (member: string): AccumulatorSpec => ({ type: 'distinct', windowMs: 3_600_000, limit: 2, member });
    const store = new MemoryStore();
    const a = store.reserveNow([{ key: 'n', spec: spec('a'), amount: 1 }], T);
    assert.ok(a.ok);
    assert.deepEqual({ before: a.results[0]!.before, after: a.results[0]!.after }, { before: 0, after: 1 });
    assert.ok(store.reserveNow([{ key: 'n', spec: spec('b'), amount: 1 }], T + 1000).ok);
    const again = store.reserveNow([{ key: 'n', spec: spec('a'), amount: 1 }], T + 2000);
    assert.ok(again.ok, 'a name already counted fits');
    assert.equal(again.results[0]!.after, again.results[0]!.before, 'and adds nothing');
    const third = store.reserveNow([{ key: 'n', spec: spec('c'), amount: 1 }], T + 3000);
    assert.equal(third.ok, false);
    // 'a' was seen again at T + 2000, so 'b' (T + 1000) leaves first.
    assert.equal(third.results[0]!.retryAfterMs, 3_600_000 + 1000 - 3000);
    assert.ok(store.reserveNow([{ key: 'n', spec: spec('c'), amount: 1 }], T + 3_601_000).ok, 'once b has left the window');
  });

  it('forgets accumulators back at rest, so identities that come and go cannot grow memory without bound', () => {
    const store = new MemoryStore();
    const bucket: AccumulatorSpec = { type: 'bucket', ratePerMs: 1 / 1000, burst: 5 };
    const window: AccumulatorSpec = { type: 'window', windowMs: 60_000, limit: 5 };
    const trace: AccumulatorSpec = { type: 'trace', ttlMs: 60_000, limit: 5 };
    const names: AccumulatorSpec = { type: 'distinct', windowMs: 60_000, limit: 5, member: 'x' };
    const day: AccumulatorSpec = { type: 'calendar', unit: 'day', limit: 5, alertAt: [] };
    for (let i = 0; i < 5000; i++) {
      const r = store.reserveNow([
        { key: `b${i}`, spec: bucket, amount: 1 }, { key: `w${i}`, spec: window, amount: 1 }, { key: `t${i}`, spec: trace, amount: 1 },
        { key: `n${i}`, spec: names, amount: 1 }, { key: `d${i}`, spec: day, amount: 1 },
      ], T);
      assert.ok(r.ok);
    }
    assert.ok(store.size <= 5 * 5000);
    const held = store.reserveNow([{ key: 'busy', spec: bucket, amount: 5 }], T + 1);
    assert.ok(held.ok);
    store.sweep(T + 61_000);
    // The day's spend stays until the day ends; everything else has refilled or expired.
    assert.equal(store.size, 5000);
    assert.equal(store.peekNow([{ key: 'd0', spec: day }], T + 61_000)[0]!.before, 1, 'the day keys are the ones kept');
    store.sweep(Date.parse('2026-11-26T00:00:00Z'));
    assert.equal(store.size, 0);
    // A forgotten accumulator answers as the one it replaced would have.
    const fresh = store.reserveNow([{ key: 'b1', spec: bucket, amount: 5 }], T + 62_000);
    assert.ok(fresh.ok);
    assert.equal(fresh.results[0]!.before, 0);
  });

  it('keeps an accumulator that still holds something through a sweep', () => {
    const store = new MemoryStore();
    const bucket: AccumulatorSpec = { type: 'bucket', ratePerMs: 1 / 1000, burst: 5 };
    assert.ok(store.reserveNow([{ key: 'b', spec: bucket, amount: 5 }], T).ok);
    store.sweep(T + 2000);
    assert.equal(store.size, 1);
    assert.equal(store.reserveNow([{ key: 'b', spec: bucket, amount: 3 }], T + 2000).ok, false, 'two of five refilled');
  });
});
