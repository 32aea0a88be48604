import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AccumulatorSpec, Hold } from '../../../src/engine/limiters/spec';
import { MemoryStore } from '../../../src/store/memory-store';

const T0 = Date.parse('2026-11-23T12:00:00Z');

const specs: Record<string, AccumulatorSpec> = {
  bucket: { type: 'bucket', ratePerMs: 10 / 60_000, burst: 10 },
  window: { type: 'window', windowMs: 60_000, limit: 10 },
  calendar: { type: 'calendar', unit: 'day', limit: 10, alertAt: [0.5] },
  rolling: { type: 'rolling', windowMs: 3_600_000, limit: 10, alertAt: [] },
  trace: { type: 'trace', ttlMs: 60_000, limit: 10 },
};
const keys = Object.keys(specs);

type Step =
  | { kind: 'reserve'; dt: number; ops: { key: string; amount: number }[] }
  | { kind: 'settle'; dt: number; pick: number; fraction: number }
  | { kind: 'release'; dt: number; pick: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('reserve' as const),
    dt: fc.integer({ min: 0, max: 20_000 }),
    ops: fc.uniqueArray(fc.record({ key: fc.constantFrom(...keys), amount: fc.double({ min: 0.01, max: 12, noNaN: true }) }), { minLength: 1, maxLength: 5, selector: (o) => o.key }),
  }),
  fc.record({ kind: fc.constant('settle' as const), dt: fc.integer({ min: 0, max: 20_000 }), pick: fc.nat(), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('release' as const), dt: fc.integer({ min: 0, max: 20_000 }), pick: fc.nat() }),
);

describe('accumulator properties (fast-check)', () => {
  it('never lets any accumulator\'s charged total exceed its limit, under any interleaving of reserve, settle and release', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 80 }), (steps) => {
        const store = new MemoryStore();
        const open: Hold[] = [];
        let now = T0;
        for (const step of steps) {
          now += step.dt;
          if (step.kind === 'reserve') {
            const r = store.reserveNow(step.ops.map((o) => ({ key: o.key, spec: specs[o.key]!, amount: o.amount })), now);
            if (r.ok) open.push(r.hold);
          } else if (open.length > 0) {
            const [hold] = open.splice(step.pick % open.length, 1);
            if (step.kind === 'settle') store.settleNow(hold!, hold!.charges.map((c) => c.amount * step.fraction), now);
            else store.settleNow(hold!, hold!.charges.map(() => 0), now);
          }
          for (const s of store.peekNow(keys.map((key) => ({ key, spec: specs[key]! })), now)) {
            assert.ok(s.before <= s.limit + 1e-6, `used ${s.before} > limit ${s.limit}`);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('leaves every accumulator unchanged when a reservation is refused', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 60 }), (steps) => {
        const store = new MemoryStore();
        let now = T0;
        for (const step of steps) {
          if (step.kind !== 'reserve') continue;
          now += step.dt;
          const all = keys.map((key) => ({ key, spec: specs[key]! }));
          const before = store.peekNow(all, now);
          const r = store.reserveNow(step.ops.map((o) => ({ key: o.key, spec: specs[o.key]!, amount: o.amount })), now);
          if (!r.ok) assert.deepEqual(store.peekNow(all, now), before);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a token bucket never admits more than burst + rate * t in any interval of length t', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 600 }),
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 5_000 }), amount: fc.integer({ min: 1, max: 5 }) }), { maxLength: 150 }),
        (burst, perMin, requests) => {
          const spec: AccumulatorSpec = { type: 'bucket', ratePerMs: perMin / 60_000, burst };
          const store = new MemoryStore();
          const admitted: { t: number; amount: number }[] = [];
          let now = T0;
          for (const r of requests) {
            now += r.dt;
            if (store.reserveNow([{ key: 'b', spec, amount: r.amount }], now).ok) admitted.push({ t: now, amount: r.amount });
          }
          for (let i = 0; i < admitted.length; i++) {
            let sum = 0;
            for (let j = i; j < admitted.length; j++) {
              sum += admitted[j]!.amount;
              const t = admitted[j]!.t - admitted[i]!.t;
              assert.ok(sum <= burst + (perMin / 60_000) * t + 1e-6, `admitted ${sum} in ${t} ms with burst ${burst} and ${perMin}/min`);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a sliding window never admits more than its limit in any window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1_000, max: 120_000 }),
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 8_000 }), amount: fc.integer({ min: 1, max: 4 }), settle: fc.double({ min: 0, max: 1, noNaN: true }) }), { maxLength: 150 }),
        (limit, windowMs, requests) => {
          const spec: AccumulatorSpec = { type: 'window', windowMs, limit };
          const store = new MemoryStore();
          const admitted: { t: number; amount: number }[] = [];
          let now = T0;
          for (const r of requests) {
            now += r.dt;
            const res = store.reserveNow([{ key: 'w', spec, amount: r.amount }], now);
            if (res.ok) {
              // Settling at a smaller real amount must not let later requests overfill the window.
              const real = Math.floor(r.amount * r.settle);
              store.settleNow(res.hold, [real], now);
              admitted.push({ t: now, amount: real });
            }
          }
          for (const start of admitted) {
            const inWindow = admitted.filter((a) => a.t >= start.t && a.t < start.t + windowMs).reduce((s, a) => s + a.amount, 0);
            assert.ok(inWindow <= limit, `${inWindow} admitted within ${windowMs} ms of ${start.t}, limit ${limit}`);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
