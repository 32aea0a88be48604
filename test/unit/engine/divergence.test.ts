import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Amounts } from '../../../src/engine/divergence/baseline';
import { baselineOf, divergenceOf, HOUR_MS, median, NO_BASELINE, thresholdOf } from '../../../src/engine/divergence/baseline';
import { HourlyHistory } from '../../../src/engine/divergence/history';
import { resumeCommand, suspendedReason } from '../../../src/engine/divergence/suspension';
import { DivergenceWatch } from '../../../src/engine/divergence/watch';
import type { Identity } from '../../../src/engine/identity/identity';
import type { DivergenceConfig } from '../../../src/engine/policy/model';
import { loadPolicy } from '../../../src/engine/policy/loader';
import { NOW, referenceText } from '../../helpers/policy';

const config = (o: Partial<DivergenceConfig> = {}): DivergenceConfig => ({
  per: ['agent', 'user'], measures: ['calls', 'tokens', 'usd'], windowMs: HOUR_MS, baselineMs: 7 * 24 * HOUR_MS, ratio: 10,
  floor: { calls: 100, tokens: 1_000_000, usd: 10 }, ...o,
});
const calls = (n: number): Amounts => ({ calls: n, tokens: 0, usd: 0 });
const alice = (agent = 'notebook'): Identity => ({ user: 'alice@acme.dev', agent, session: 's', roles: [], issuer: 'tollgate' });

describe('divergence guard: arithmetic', () => {
  it('takes the median, the middle two averaged for an even count, 0 for none', () => {
    assert.equal(median([]), 0);
    assert.equal(median([7]), 7);
    assert.equal(median([9, 1, 5]), 5);
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });

  it('takes the baseline over active hours only, each measure on its own', () => {
    const idle = { calls: 0, tokens: 0, usd: 0 };
    const b = baselineOf([idle, { calls: 10, tokens: 100, usd: 1 }, idle, { calls: 30, tokens: 50, usd: 3 }, { calls: 20, tokens: 900, usd: 2 }, idle]);
    assert.equal(b.activeHours, 3);
    assert.deepEqual(b.perHour, { calls: 20, tokens: 100, usd: 2 });
  });

  it('suspends past ratio x baseline once above the floor, naming the measure and the ratio', () => {
    const c = config({ floor: { calls: 100, tokens: 1e9, usd: 1e9 } });
    const baseline = baselineOf([calls(40), calls(50), calls(60)]);
    assert.equal(thresholdOf(c, baseline, 'calls'), 500);
    assert.equal(divergenceOf(c, baseline, calls(500)), undefined, 'exactly ratio x baseline is not past it');
    const d = divergenceOf(c, baseline, calls(501));
    assert.deepEqual(d, { measure: 'calls', recent: 501, baseline: 50, threshold: 500, ratio: 501 / 50 });
  });

  it('lets a new identity (no baseline) reach the floor, and suspends it only past it', () => {
    const c = config();
    assert.equal(divergenceOf(c, NO_BASELINE, calls(100)), undefined);
    assert.deepEqual(divergenceOf(c, NO_BASELINE, calls(101)), { measure: 'calls', recent: 101, baseline: 0, threshold: 100, ratio: null });
  });

  it('keeps the floor when ratio x baseline is below it', () => {
    const c = config();
    const quiet = baselineOf([calls(2), calls(3), calls(4)]);
    // 10 x 3 = 30 calls, but the floor is 100.
    assert.equal(divergenceOf(c, quiet, calls(99)), undefined);
    assert.equal(divergenceOf(c, quiet, calls(101))?.threshold, 100);
  });

  it('scales the hourly baseline to the window', () => {
    const c = config({ windowMs: 10 * 60_000, floor: { calls: 1, tokens: 1e9, usd: 1e9 } });
    const b = baselineOf([calls(60)]);
    // 60 an hour is 10 per ten minutes; 10x that is 100.
    assert.equal(thresholdOf(c, b, 'calls'), 100);
  });

  it('property: never suspends at or below the floor, always past max(floor, ratio x median)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1000), { maxLength: 200 }), fc.nat(5000), fc.double({ min: 1.01, max: 100, noNaN: true }), fc.integer({ min: 1, max: 1000 }), (hours, recent, ratio, floor) => {
        const c = config({ ratio, measures: ['calls'], floor: { calls: floor, tokens: 1, usd: 1 } });
        const b = baselineOf(hours.map(calls));
        const d = divergenceOf(c, b, calls(recent));
        const active = hours.filter((h) => h > 0);
        const limit = Math.max(floor, ratio * median(active));
        assert.equal(d !== undefined, recent > limit);
        if (recent <= floor) assert.equal(d, undefined);
      }),
    );
  });

  it('property: the median baseline ignores idle hours and a single outlier hour moves it little', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 3, maxLength: 100 }), fc.nat(100), fc.integer({ min: 1, max: 1_000_000 }), (active, idle, outlier) => {
        const withIdle = [...active, ...Array.from({ length: idle }, () => 0)];
        assert.equal(baselineOf(withIdle.map(calls)).perHour.calls, median(active));
        const sorted = [...active].sort((a, b) => a - b);
        const moved = baselineOf([...active, outlier].map(calls)).perHour.calls;
        // One more hour, whatever its size, moves the median at most to a neighbour of the old middle.
        const n = sorted.length;
        assert.ok(moved >= sorted[Math.max(0, (n >> 1) - 1)]! && moved <= sorted[Math.min(n - 1, (n >> 1) + 1)]!, `${moved} for ${sorted.join(',')} + ${outlier}`);
      }),
    );
  });
});

describe('divergence guard: the watch', () => {
  it('watches the agent and the person apart: a runaway agent trips its own key, not the person with a big baseline', () => {
    const baselines = new Map([['agent:alice@acme.dev/notebook', baselineOf([calls(5), calls(5), calls(5)])], ['user:alice@acme.dev', baselineOf([calls(500)])]]);
    const w = new DivergenceWatch(config({ measures: ['calls'], floor: { calls: 20, tokens: 1, usd: 1 } }), (k) => baselines.get(k));
    const trips = [];
    for (let i = 0; i < 60; i++) trips.push(...w.count(alice(), calls(1), NOW + i * 1000));
    assert.equal(trips.length, 1, 'one suspension, once');
    assert.equal(trips[0]!.key, 'agent:alice@acme.dev/notebook');
    assert.equal(trips[0]!.agent, 'notebook');
    assert.equal(trips[0]!.recent, 51, '10 x 5 = 50 is the threshold; the 51st call passes it');
    assert.deepEqual(w.windowOf('user:alice@acme.dev', NOW + 60_000), { calls: 60, tokens: 0, usd: 0 });
  });

  it('trips the person when their agents together diverge, though no agent alone does', () => {
    const w = new DivergenceWatch(config({ per: ['agent', 'user'], measures: ['calls'], floor: { calls: 30, tokens: 1, usd: 1 } }), () => undefined);
    const trips = [];
    for (let i = 0; i < 10; i++) for (const a of ['a', 'b', 'c', 'd']) trips.push(...w.count(alice(a), calls(1), NOW + i * 1000));
    assert.deepEqual(trips.map((t) => t.key), ['user:alice@acme.dev']);
    assert.equal(trips[0]!.agent, null);
  });

  it('forgets the window once the window has passed, and after forget() starts again', () => {
    const w = new DivergenceWatch(config({ per: ['agent'], measures: ['calls'], floor: { calls: 3, tokens: 1, usd: 1 } }), () => undefined);
    for (let i = 0; i < 3; i++) assert.deepEqual(w.count(alice(), calls(1), NOW), []);
    // An hour later the three have left the window.
    assert.deepEqual(w.count(alice(), calls(1), NOW + HOUR_MS + 1), []);
    assert.equal(w.windowOf('agent:alice@acme.dev/notebook', NOW + HOUR_MS + 1).calls, 1);
    for (let i = 0; i < 2; i++) w.count(alice(), calls(1), NOW + HOUR_MS + 2);
    assert.equal(w.count(alice(), calls(1), NOW + HOUR_MS + 3).length, 1);
    w.forget('agent:alice@acme.dev/notebook');
    assert.equal(w.windowOf('agent:alice@acme.dev/notebook', NOW + HOUR_MS + 3).calls, 0);
  });

  it('tells how to resume: by agent and person, or by person', () => {
    const w = new DivergenceWatch(config({ per: ['agent', 'user'], measures: ['usd'], floor: { calls: 1, tokens: 1, usd: 1 } }), () => undefined);
    const [agent, user] = w.count(alice(), { calls: 1, tokens: 10, usd: 2 }, NOW);
    assert.equal(resumeCommand(agent!), 'tollgate identity resume --agent notebook --user alice@acme.dev');
    assert.equal(resumeCommand(user!), 'tollgate identity resume --user alice@acme.dev');
    assert.match(suspendedReason(agent!), /guard 'divergence' suspended agent notebook of alice@acme.dev .*\$2\.00 in the window \(no baseline yet; threshold \$1\.00\).*tollgate identity resume --agent notebook --user alice@acme.dev/);
  });
});

describe('divergence guard: hourly history (replays)', () => {
  it('takes the baseline from the hours before the current one, within the baseline period', () => {
    const c = config({ baselineMs: 3 * HOUR_MS });
    const h = new HourlyHistory(c);
    const t0 = Math.floor(NOW / HOUR_MS) * HOUR_MS;
    h.add('k', t0 - 5 * HOUR_MS, calls(1000)); // outside the 3h baseline
    h.add('k', t0 - 2 * HOUR_MS, calls(10));
    h.add('k', t0 - HOUR_MS, calls(20));
    h.add('k', t0 - HOUR_MS + 5, calls(10));
    h.add('k', t0 + 10, calls(500)); // the current hour is not its own baseline
    const b = h.baselineAt('k', t0 + 20)!;
    assert.deepEqual([b.activeHours, b.perHour.calls], [2, 20]);
    assert.equal(h.baselineAt('other', t0), undefined);
  });
});

describe('divergence guard: the bundle', () => {
  const withGuard = (guard: string): string => referenceText.replace(/^guards:\n/m, `guards:\n  divergence:\n${guard}`);

  it('compiles guards.divergence with default floors', () => {
    const r = loadPolicy(withGuard('    per: [agent, user]\n    measure: [calls, usd]\n    window: 1h\n    baseline: 7d\n    ratio: 10\n    floor: { calls: 50 }\n'), NOW);
    assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => e.message).join('\n'));
    assert.deepEqual(r.policy.guards.divergence, {
      per: ['agent', 'user'], measures: ['calls', 'usd'], windowMs: HOUR_MS, baselineMs: 7 * 24 * HOUR_MS, ratio: 10, floor: { calls: 50, tokens: 1_000_000, usd: 10 },
    });
  });

  it('refuses a baseline past the 7 days of hourly totals, or not longer than the window, and a ratio of 1 or less', () => {
    const far = loadPolicy(withGuard('    per: [agent]\n    measure: [calls]\n    window: 2h\n    baseline: 30d\n    ratio: 10\n'), NOW);
    assert.ok(!far.ok && far.errors.some((e) => /reaches further back than the 7d/.test(e.message)));
    const flat = loadPolicy(withGuard('    per: [agent]\n    measure: [calls]\n    window: 1h\n    baseline: 7d\n    ratio: 1\n'), NOW);
    assert.ok(!flat.ok && flat.errors.some((e) => /greater than 1/.test(e.message)));
    const short = loadPolicy(withGuard('    per: [user]\n    measure: [tokens]\n    window: 1h\n    baseline: 1h\n    ratio: 5\n'), NOW);
    assert.ok(!short.ok && short.errors.some((e) => /must be longer than the window/.test(e.message)));
  });

  it('reserves the id divergence for the guard', () => {
    const r = loadPolicy(referenceText.replace(/id: agent-burst/, 'id: divergence'), NOW);
    assert.ok(!r.ok && r.errors.some((e) => /reserved for the guard/.test(e.message)));
  });
});
