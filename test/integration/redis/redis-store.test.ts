import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createClient } from '@redis/client';
import type { AccumulatorSpec, Hold, ReserveResult } from '../../../src/engine/limiters/spec';
import { MemoryStore } from '../../../src/store/memory-store';
import { createScriptConnection, parseRedisSpec } from '../../../src/store/redis/connection';
import { StoreError } from '../../../src/store/redis/errors';
import { RedisStore } from '../../../src/store/redis/redis-store';
import type { RedisStoreOptions } from '../../../src/store/redis/redis-store';
import { startRedis } from '../../helpers/redis';
import { createStore } from '../../../src/store/store-factory';
import { referencePolicy } from '../../helpers/policy';
import type { TestRedis } from '../../helpers/redis';

// The Redis store must behave exactly as the memory store: the same answers to the same charges
// at the same times (caller clock), the same invariants, plus what only a shared store needs:
// server time, atomicity across clients, hold expiry, and outages.

const T0 = Date.parse('2026-11-23T12:00:00Z');

const specs: Record<string, AccumulatorSpec> = {
  bucket: { type: 'bucket', ratePerMs: 10 / 60_000, burst: 10 },
  window: { type: 'window', windowMs: 60_000, limit: 10 },
  calendar: { type: 'calendar', unit: 'day', limit: 10, alertAt: [0.5] },
  month: { type: 'calendar', unit: 'month', limit: 10, alertAt: [0.25, 0.9] },
  rolling: { type: 'rolling', windowMs: 3_600_000, limit: 10, alertAt: [0.5] },
  trace: { type: 'trace', ttlMs: 60_000, limit: 10 },
  distinct: { type: 'distinct', windowMs: 60_000, limit: 3, member: 'a' },
};
const keys = Object.keys(specs);

/** A charge's spec; a distinct accumulator's charge names one of a few members. */
function specOf(o: { key: string; member: string }): AccumulatorSpec {
  const spec = specs[o.key]!;
  return spec.type === 'distinct' ? { ...spec, member: o.member } : spec;
}

type Step =
  | { kind: 'reserve'; dt: number; ops: { key: string; amount: number; force: boolean; member: string }[] }
  | { kind: 'settle'; dt: number; pick: number; fraction: number }
  | { kind: 'release'; dt: number; pick: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('reserve' as const),
    // Up to ~3 days per step so calendar days and months roll over within a run.
    dt: fc.oneof(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 0, max: 260_000_000 })),
    ops: fc.uniqueArray(
      fc.record({ key: fc.constantFrom(...keys), amount: fc.double({ min: 0.01, max: 12, noNaN: true }), force: fc.constantFrom(false, false, false, true), member: fc.constantFrom('a', 'b', 'c', 'd', 'e') }),
      { minLength: 1, maxLength: 5, selector: (o) => o.key },
    ),
  }),
  fc.record({ kind: fc.constant('settle' as const), dt: fc.integer({ min: 0, max: 20_000 }), pick: fc.nat(), fraction: fc.double({ min: 0, max: 1.2, noNaN: true }) }),
  fc.record({ kind: fc.constant('release' as const), dt: fc.integer({ min: 0, max: 20_000 }), pick: fc.nat() }),
);

function withoutHoldId(r: ReserveResult): unknown {
  return r.ok ? { ...r, hold: { charges: r.hold.charges } } : r;
}

describe('Redis store (team mode) against a real redis-server', function () {
  // Installing Debian's redis-server on a clean CI machine can take a minute.
  this.timeout(60_000);
  let redis: TestRedis;
  const open: RedisStore[] = [];
  let run = 0;

  function store(options: Partial<RedisStoreOptions> = {}): RedisStore {
    const connection = createScriptConnection(parseRedisSpec(redis.url), { commandTimeoutMs: 1000, connectTimeoutMs: 500 });
    const s = new RedisStore(connection, { namespace: `test-${process.pid}-${++run}`, clock: 'caller', holdTtlMs: 1e12, ...options });
    open.push(s);
    void connection.open(0);
    return s;
  }

  async function connected(s: RedisStore): Promise<RedisStore> {
    // Wait for the first connection: a store used before it resolves fails closed (by design).
    for (let i = 0; i < 100; i++) {
      try {
        await s.peek([{ key: 'ping', spec: specs.trace! }], T0);
        if (s.status().mode === 'redis') return s;
      } catch {
        // Not connected yet: the store fails closed until the first connection.
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('store never connected');
  }

  before(async function () {
    this.timeout(300_000);
    redis = await startRedis();
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });

  after(async () => {
    await redis?.dispose();
  });

  describe('same behaviour as the memory store', () => {
    it('answers every reserve, settle, release and peek exactly as the memory store does (differential, fast-check)', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(stepArb, { maxLength: 40 }), async (steps) => {
          const memory = new MemoryStore();
          const shared = await connected(store());
          const memHolds: Hold[] = [];
          const redisHolds: Hold[] = [];
          let now = T0;
          for (const step of steps) {
            now += step.dt;
            if (step.kind === 'reserve') {
              const ops = step.ops.map((o) => ({ key: o.key, spec: specOf(o), amount: o.amount, force: o.force || undefined }));
              const m = memory.reserveNow(ops, now);
              const r = await shared.reserve(ops, now);
              assert.deepStrictEqual(withoutHoldId(r), withoutHoldId(m));
              if (m.ok && r.ok) {
                memHolds.push(m.hold);
                redisHolds.push(r.hold);
              }
            } else if (memHolds.length > 0) {
              const i = step.pick % memHolds.length;
              const [mh] = memHolds.splice(i, 1);
              const [rh] = redisHolds.splice(i, 1);
              const actual = step.kind === 'settle' ? mh!.charges.map((c) => c.amount * step.fraction) : mh!.charges.map(() => 0);
              assert.deepStrictEqual(await shared.settle(rh!, actual, now), memory.settleNow(mh!, actual, now));
            }
            const all = keys.map((key) => ({ key, spec: specs[key]! }));
            assert.deepStrictEqual(await shared.peek(all, now), memory.peekNow(all, now));
          }
        }),
        { numRuns: 40 },
      );
    });

    it('never lets any accumulator exceed its limit and changes nothing on a refusal (the memory store\'s invariants)', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(stepArb, { maxLength: 40 }), async (steps) => {
          const shared = await connected(store());
          const holds: Hold[] = [];
          const all = keys.map((key) => ({ key, spec: specs[key]! }));
          let now = T0;
          for (const step of steps) {
            now += step.dt;
            if (step.kind === 'reserve') {
              const before = await shared.peek(all, now);
              const r = await shared.reserve(step.ops.map((o) => ({ key: o.key, spec: specOf(o), amount: o.amount })), now);
              if (r.ok) holds.push(r.hold);
              else assert.deepStrictEqual(await shared.peek(all, now), before, 'a refused reservation took nothing');
            } else if (holds.length > 0) {
              const [hold] = holds.splice(step.pick % holds.length, 1);
              const fraction = step.kind === 'settle' ? Math.min(1, step.fraction) : 0;
              await shared.settle(hold!, hold!.charges.map((c) => c.amount * fraction), now);
            }
            for (const s of await shared.peek(all, now)) assert.ok(s.before <= s.limit + 1e-6, `used ${s.before} > limit ${s.limit}`);
          }
        }),
        { numRuns: 30 },
      );
    });

    it('resets a calendar budget at the UTC month boundary and alerts once per period (hand-computed)', async () => {
      const spec: AccumulatorSpec = { type: 'calendar', unit: 'month', limit: 10, alertAt: [0.5] };
      const s = await connected(store());
      const late = Date.parse('2026-11-30T23:59:00Z');
      const r = await s.reserve([{ key: 'b', spec, amount: 6 }], late);
      assert.ok(r.ok);
      assert.equal(r.hold.charges[0]!.slot, Date.parse('2026-11-01T00:00:00Z'));
      assert.deepEqual((await s.settle(r.hold, [6], late)).alerts.map((a) => [a.key, a.threshold, a.used, a.limit]), [['b', 0.5, 6, 10]]);
      const again = await s.reserve([{ key: 'b', spec, amount: 1 }], late);
      assert.ok(again.ok);
      assert.deepEqual((await s.settle(again.hold, [1], late)).alerts, [], 'a threshold alerts once per period');
      const refused = await s.reserve([{ key: 'b', spec, amount: 5 }], late);
      assert.equal(refused.ok, false);
      assert.equal(refused.results[0]!.retryAfterMs, 60_000, 'frees up at the month end');
      const dec = Date.parse('2026-12-01T00:00:00Z');
      const next = await s.reserve([{ key: 'b', spec, amount: 6 }], dec);
      assert.ok(next.ok);
      assert.equal(next.results[0]!.before, 0);
      assert.equal(next.hold.charges[0]!.slot, dec);
      assert.deepEqual((await s.settle(next.hold, [6], dec)).alerts.map((a) => a.threshold), [0.5], 're-armed in the new period');
      // A settlement of last month's hold does not touch this month.
      assert.deepEqual((await s.peek([{ key: 'b', spec }], dec))[0]!.before, 6);
    });

    it('computes ISO weeks from Monday and leap-year months in Lua as calendar.ts does', async () => {
      const s = await connected(store());
      const cases: ['week' | 'month', string, string][] = [
        ['week', '2026-11-29T23:59:59Z', '2026-11-23T00:00:00Z'],
        ['week', '2024-12-31T10:00:00Z', '2024-12-30T00:00:00Z'],
        ['month', '2024-02-29T12:00:00Z', '2024-02-01T00:00:00Z'],
        ['month', '2000-03-01T00:00:00Z', '2000-03-01T00:00:00Z'],
        ['month', '2099-12-31T23:59:59Z', '2099-12-01T00:00:00Z'],
      ];
      for (const [unit, at, start] of cases) {
        const r = await s.reserve([{ key: `p-${unit}-${at}`, spec: { type: 'calendar', unit, limit: 1, alertAt: [] }, amount: 1 }], Date.parse(at));
        assert.ok(r.ok);
        assert.equal(new Date(r.hold.charges[0]!.slot).toISOString(), new Date(start).toISOString(), `${unit} of ${at}`);
      }
    });

    it('bounds a sliding window\'s stored state however many charges it takes', async () => {
      const spec: AccumulatorSpec = { type: 'window', windowMs: 3_600_000, limit: 1e9 };
      const s = await connected(store());
      for (let i = 0; i < 3000; i++) await s.reserve([{ key: 'w', spec, amount: 1 }], T0 + i * 2_000);
      const client = createClient({ url: redis.url });
      await client.connect();
      try {
        const size = await client.strLen(s.redisKey('w'));
        // 1025 slots of three doubles each, msgpacked: about 30 kB, never one entry per charge.
        assert.ok(size < 40_000, `${size} bytes`);
        assert.equal((await s.peek([{ key: 'w', spec }], T0 + 3000 * 2_000))[0]!.before, 1800);
      } finally {
        await client.close();
      }
    });
  });

  describe('server time, scripts and keys', () => {
    it('uses the Redis server\'s clock, so proxies whose clocks disagree by hours share one bucket correctly', async () => {
      const namespace = `skew-${process.pid}`;
      const a = await connected(store({ namespace, clock: 'server' }));
      const b = await connected(store({ namespace, clock: 'server' }));
      const spec: AccumulatorSpec = { type: 'bucket', ratePerMs: 1 / 3_600_000, burst: 3 };
      // Proxy b's clock is 5 h ahead: with its own clock it would refill the bucket it shares.
      assert.ok((await a.reserve([{ key: 'k', spec, amount: 3 }], Date.now())).ok);
      const r = await b.reserve([{ key: 'k', spec, amount: 1 }], Date.now() + 5 * 3_600_000);
      assert.equal(r.ok, false);
      assert.ok(r.results[0]!.before > 2.99, 'b saw the bucket a emptied');
      // Keys expire once a fresh state would be the same: here when the bucket is full again.
      const client = createClient({ url: redis.url });
      await client.connect();
      try {
        const ttl = await client.pTTL(a.redisKey('k'));
        assert.ok(ttl > 3 * 3_600_000 - 60_000 && ttl <= 3 * 3_600_000 + 1000, `pttl ${ttl}`);
      } finally {
        await client.close();
      }
    });

    it('keeps every key of a decision in one cluster slot (one hash tag per namespace)', async () => {
      const s = store({ namespace: 'acme{team}' });
      for (const key of ['per_user#user:a@x.com', 'per_role#role:eng', 'max_calls_per_trace#trace:0af7', 'b#user:{weird}']) {
        assert.ok(s.redisKey(key).startsWith('{tollgate:acme_team_}:a:'), s.redisKey(key));
      }
    });

    it('loads its scripts again after SCRIPT FLUSH (EVALSHA with NOSCRIPT fallback)', async () => {
      const s = await connected(store());
      const client = createClient({ url: redis.url });
      await client.connect();
      try {
        await client.scriptFlush();
        const r = await s.reserve([{ key: 'k', spec: specs.bucket!, amount: 1 }], T0);
        assert.ok(r.ok);
        const stats = (await client.info('commandstats')).split('\n').filter((l) => /cmdstat_(eval|evalsha):/.test(l));
        assert.equal(stats.length, 2, stats.join('; '));
      } finally {
        await client.close();
      }
    });

    it('finalises a hold past its deadline at its reserved amount and ignores its late settlement', async () => {
      const spec: AccumulatorSpec = { type: 'calendar', unit: 'day', limit: 10, alertAt: [0.5] };
      const s = await connected(store({ holdTtlMs: 1000 }));
      // The proxy that took this hold "lost its connection": nobody settles it in time.
      const lost = await s.reserve([{ key: 'b', spec, amount: 6 }], T0);
      assert.ok(lost.ok);
      const other = await s.reserve([{ key: 'b', spec, amount: 1 }], T0 + 500);
      assert.ok(other.ok);
      const settled = await s.settle(other.hold, [1], T0 + 1200);
      assert.deepEqual(settled.alerts.map((a) => [a.key, a.threshold, a.used]), [['b', 0.5, 7]], 'the expired hold counted at its worst case and its alert was not lost');
      assert.equal(s.status().expiredHoldsFinalised, 1);
      const late = await s.settle(lost.hold, [0], T0 + 3000);
      assert.deepEqual(late.results.map((r) => [r.before, r.after]), [[7, 7]], 'a settlement after the deadline is a no-op');
      const client = createClient({ url: redis.url });
      await client.connect();
      try {
        assert.equal(await client.zCard(s.redisKey('').replace(/:a:$/, ':holds')), 0, 'no hold record leaks');
      } finally {
        await client.close();
      }
    });
  });

  describe('concurrency across clients', () => {
    it('hundreds of concurrent reservations from several clients never exceed one token bucket and one budget', async () => {
      const namespace = `conc-${process.pid}`;
      const clients = await Promise.all([0, 1, 2, 3].map(() => connected(store({ namespace, clock: 'server' }))));
      const bucket: AccumulatorSpec = { type: 'bucket', ratePerMs: 1 / 3_600_000, burst: 120 };
      const budget: AccumulatorSpec = { type: 'calendar', unit: 'day', limit: 5, alertAt: [0.8] };
      const results = await Promise.all(
        Array.from({ length: 600 }, (_v, i) =>
          clients[i % clients.length]!.reserve(
            [
              { key: 'rpm#user:a', spec: bucket, amount: 1 },
              { key: 'usd#team', spec: budget, amount: 0.03 },
            ],
            Date.now(),
          ),
        ),
      );
      const admitted = results.filter((r) => r.ok);
      // The budget admits floor(5 / 0.03) = 166 and the bucket 120: the bucket binds.
      assert.equal(admitted.length, 120);
      const [b, u] = await clients[0]!.peek([{ key: 'rpm#user:a', spec: bucket }, { key: 'usd#team', spec: budget }], Date.now());
      assert.ok(b!.before <= 120 + 1e-9);
      assert.ok(Math.abs(u!.before - 120 * 0.03) < 1e-9, `spent ${u!.before}`);
      // Settle at real costs concurrently, then race for the rest of the budget.
      await Promise.all(admitted.map((r, i) => (r.ok ? clients[i % 4]!.settle(r.hold, [1, 0.035], Date.now()) : undefined)));
      const wide: AccumulatorSpec = { type: 'bucket', ratePerMs: 1, burst: 1e6 };
      const more = await Promise.all(
        Array.from({ length: 400 }, (_v, i) =>
          clients[i % 4]!.reserve([{ key: 'wide', spec: wide, amount: 1 }, { key: 'usd#team', spec: budget, amount: 0.03 }], Date.now()),
        ),
      );
      const spent = 120 * 0.035 + more.filter((r) => r.ok).length * 0.03;
      assert.ok(spent <= 5 + 1e-9, `spent ${spent}`);
      assert.equal(more.filter((r) => r.ok).length, Math.floor((5 - 120 * 0.035 + 1e-9) / 0.03));
    });
  });

  describe('connection kinds', () => {
    it('connects with a password in the URL (requirepass), and reports a wrong one as unavailable without leaking it', async () => {
      const secured = await startRedis(['--requirepass', 'team-pass-123']);
      try {
        const good = await createStore(`redis://:team-pass-123@127.0.0.1:${secured.port}`, referencePolicy(), { startupWaitMs: 5000 });
        try {
          const r = await good.reserve([{ key: 'k', spec: specs.bucket!, amount: 1 }], Date.now());
          assert.ok(r.ok);
        } finally {
          await good.close();
        }
        const logs: string[] = [];
        const bad = await createStore(`redis://:wrong-pass-456@127.0.0.1:${secured.port}`, referencePolicy(), { startupWaitMs: 1000, log: (l) => logs.push(l) });
        try {
          await assert.rejects(bad.reserve([{ key: 'k', spec: specs.bucket!, amount: 1 }], Date.now()), (err: unknown) => StoreError.is(err, 'unavailable'));
          assert.ok(!logs.join('\n').includes('wrong-pass-456'), logs.join('\n'));
        } finally {
          await bad.close();
        }
      } finally {
        await secured.dispose();
      }
    });

    it('runs its scripts on Redis Cluster (redis+cluster://): every key of a decision in one slot', async () => {
      const node = await startRedis(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf']);
      try {
        // A one-node cluster owning every slot: enough to prove routing and same-slot keys.
        const admin = createClient({ url: node.url });
        await admin.connect();
        await admin.sendCommand(['CLUSTER', 'ADDSLOTSRANGE', '0', '16383']);
        for (let i = 0; i < 100 && !(await admin.sendCommand(['CLUSTER', 'INFO']) as string).includes('cluster_state:ok'); i++) await new Promise((r) => setTimeout(r, 50));
        await admin.close();
        const s = await createStore(`redis+cluster://127.0.0.1:${node.port}`, referencePolicy(), { startupWaitMs: 5000 });
        try {
          const ops = [
            { key: 'user-rpm#user:bob@acme.dev', spec: specs.window!, amount: 1 },
            { key: 'user-daily#user:bob@acme.dev', spec: specs.calendar!, amount: 2 },
            { key: 'team-monthly#role:ml-engineers', spec: specs.month!, amount: 2 },
          ];
          const r = await s.reserve(ops, Date.now());
          assert.ok(r.ok);
          const settled = await s.settle(r.hold, [1, 1, 1], Date.now());
          assert.deepEqual(settled.results.map((x) => x.after), [1, 1, 1]);
          const peek = await s.peek(ops, Date.now());
          assert.deepEqual(peek.map((x) => x.before), [1, 1, 1]);
        } finally {
          await s.close();
        }
      } finally {
        await node.dispose();
      }
    });
  });

  describe('losing Redis', () => {
    it('fails closed while Redis is down (StoreError unavailable) and recovers when it is back', async () => {
      const s = await connected(store({ clock: 'server' }));
      const spec = specs.bucket!;
      assert.ok((await s.reserve([{ key: 'k', spec, amount: 1 }], Date.now())).ok);
      await redis.stop();
      try {
        await assert.rejects(s.reserve([{ key: 'k', spec, amount: 1 }], Date.now()), (err: unknown) => StoreError.is(err, 'unavailable'));
        assert.equal(s.status().mode, 'unavailable');
      } finally {
        await redis.start();
      }
      let ok = false;
      for (let i = 0; i < 150 && !ok; i++) {
        try {
          ok = (await s.reserve([{ key: 'k', spec, amount: 1 }], Date.now())).ok;
        } catch (err) {
          assert.ok(StoreError.is(err, 'unavailable'));
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      assert.ok(ok, 'reserves again after Redis returns');
      assert.equal(s.status().mode, 'redis');
    });

    it('fails open to local accumulators when the bundle says store.on_unavailable: local, and returns to Redis', async () => {
      const s = await connected(store({ clock: 'server', onUnavailable: 'local' }));
      const modes: string[] = [];
      s.onStatus((st) => modes.push(st.mode));
      const spec: AccumulatorSpec = { type: 'bucket', ratePerMs: 1e-9, burst: 2 };
      await redis.stop();
      let local: Hold | undefined;
      try {
        const r1 = await s.reserve([{ key: 'k', spec, amount: 1 }], Date.now());
        const r2 = await s.reserve([{ key: 'k', spec, amount: 1 }], Date.now());
        const r3 = await s.reserve([{ key: 'k', spec, amount: 1 }], Date.now());
        assert.ok(r1.ok && r2.ok);
        assert.equal(r3.ok, false, 'the local store still enforces the limit');
        assert.ok(s.isLocalHold(r1.hold));
        local = r1.hold;
        assert.equal(s.status().mode, 'local');
      } finally {
        await redis.start();
      }
      await s.release(local, Date.now());
      let back = false;
      for (let i = 0; i < 150 && !back; i++) {
        const r = await s.reserve([{ key: 'k', spec, amount: 1 }], Date.now());
        back = r.ok && !s.isLocalHold(r.hold);
        if (!back) await new Promise((res) => setTimeout(res, 50));
      }
      assert.ok(back, 'uses Redis again');
      assert.deepEqual(modes, ['local', 'redis']);
    });
  });
});
