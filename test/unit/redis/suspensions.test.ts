import assert from 'node:assert/strict';
import type { Suspension } from '../../../src/engine/divergence/suspension';
import { parsePendingResumption, parseSuspension, SuspensionFormatError } from '../../../src/engine/divergence/suspension';
import type { ScriptConnection } from '../../../src/store/redis/connection';
import { StoreError } from '../../../src/store/redis/errors';
import type { LuaScriptName } from '../../../src/store/redis/lua';
import { RedisSuspensions } from '../../../src/store/redis/suspensions';

// What a team proxy reads back from Redis about suspensions is validated before it refuses or
// lifts anyone: a malformed entry is ignored with a warning, and Redis out of reach leaves the
// suspensions this proxy has seen in force.

const RUNNER: Suspension = {
  key: 'agent:dev@acme.dev/runner', per: 'agent', user: 'dev@acme.dev', agent: 'runner', guard: 'divergence', measure: 'calls',
  recent: 41, baseline: 4, threshold: 40, ratio: 10.25, since: '2026-11-20T12:00:00.000Z',
};

/** A connection whose scripts answer from `answer`, or fail as Redis out of reach while `down`. */
function fakeConnection(answer: (script: LuaScriptName, keys: readonly string[], args: readonly string[]) => unknown): ScriptConnection & { down: boolean } {
  const c = {
    down: false,
    run(script: LuaScriptName, keys: readonly string[], args: readonly string[]): Promise<unknown> {
      if (c.down) return Promise.reject(new StoreError('unavailable', 'Redis is unreachable: connection refused'));
      return Promise.resolve(answer(script, keys, args));
    },
    open: () => Promise.resolve(true),
    ready: () => true,
    close: () => Promise.resolve(),
  };
  return c;
}

describe('suspensions read back from Redis', () => {
  describe('parseSuspension', () => {
    it('reads a suspension as a guard wrote it', () => {
      assert.deepEqual(parseSuspension(JSON.parse(JSON.stringify(RUNNER))), RUNNER);
      const person = { ...RUNNER, key: 'user:dev@acme.dev', per: 'user', agent: null, ratio: null };
      assert.deepEqual(parseSuspension(person), person);
    });

    const broken: [string, unknown][] = [
      ['not an object', 'agent:dev@acme.dev/runner'],
      ['an array', [RUNNER]],
      ['another guard', { ...RUNNER, guard: 'trace' }],
      ['an unknown measure', { ...RUNNER, measure: 'bytes' }],
      ['a key of another identity', { ...RUNNER, key: 'agent:boss@acme.dev/runner' }],
      ["a person's suspension naming an agent", { ...RUNNER, per: 'user', key: 'user:dev@acme.dev' }],
      ['an agent name with spaces', { ...RUNNER, agent: 'run ner', key: 'agent:dev@acme.dev/run ner' }],
      ['a negative amount', { ...RUNNER, recent: -1 }],
      ['an amount as text', { ...RUNNER, threshold: '40' }],
      ['a time that is not one', { ...RUNNER, since: 'yesterday' }],
      ['a person of 400 characters', { ...RUNNER, user: 'x'.repeat(400), key: `agent:${'x'.repeat(400)}/runner` }],
    ];
    for (const [what, raw] of broken) {
      it(`refuses ${what}`, () => assert.throws(() => parseSuspension(raw), (err: unknown) => SuspensionFormatError.is(err)));
    }

    it('reads a queued resumption and refuses one without its suspension', () => {
      assert.deepEqual(parsePendingResumption({ suspension: RUNNER, at: 5, via: 'cli' }), { suspension: RUNNER, at: 5, via: 'cli' });
      assert.throws(() => parsePendingResumption({ suspension: { key: 'x' }, at: 5, via: 'cli' }), SuspensionFormatError);
      assert.throws(() => parsePendingResumption({ suspension: RUNNER, at: 5, via: 'shell' }), SuspensionFormatError);
    });
  });

  describe('RedisSuspensions', () => {
    it('ignores a malformed entry with one warning, and one kept under another identity key', async () => {
      const kept: Record<string, string> = {
        'user:dev@acme.dev': '{not json',
        'agent:eve@acme.dev/runner': JSON.stringify(RUNNER),
      };
      const lines: string[] = [];
      const registry = new RedisSuspensions(fakeConnection((script, _keys, args) => (script === 'hashGet' ? args.map((f) => kept[f] ?? null) : Object.entries(kept).flat())), '{tollgate:t}', (l) => lines.push(l));
      assert.equal(await registry.find(['agent:dev@acme.dev/runner', 'user:dev@acme.dev']), undefined);
      assert.equal(await registry.find(['user:dev@acme.dev']), undefined);
      assert.equal(await registry.find(['agent:eve@acme.dev/runner']), undefined);
      assert.deepEqual(await registry.list(), []);
      assert.equal(lines.length, 2, lines.join('\n'));
      assert.match(lines[0]!, /"user:dev@acme\.dev" in Redis \{tollgate:t\}:suspensions is not a suspension .*ignored/);
      assert.match(lines[1]!, /kept under the key of another identity/);
    });

    it('keeps refusing the suspensions it has seen while Redis is out of reach, and no one else', async () => {
      const kept: Record<string, string> = { [RUNNER.key]: JSON.stringify(RUNNER) };
      const lines: string[] = [];
      const connection = fakeConnection((script, _keys, args) => (script === 'hashGet' ? args.map((f) => kept[f] ?? null) : null));
      const registry = new RedisSuspensions(connection, '{tollgate:t}', (l) => lines.push(l));
      assert.deepEqual(await registry.find([RUNNER.key, 'user:dev@acme.dev']), RUNNER);
      connection.down = true;
      assert.deepEqual(await registry.find([RUNNER.key, 'user:dev@acme.dev']), RUNNER);
      assert.equal(await registry.find(['agent:dev@acme.dev/steady', 'user:dev@acme.dev']), undefined);
      assert.equal(lines.filter((l) => /out of reach|unreachable/.test(l)).length, 1, 'said once');
      await assert.rejects(registry.resume({ agent: 'runner' }), (err: unknown) => StoreError.is(err, 'unavailable'));
      await assert.rejects(registry.list(), (err: unknown) => StoreError.is(err, 'unavailable'));
      assert.deepEqual(await registry.takeRecords(), []);
    });

    it('a suspension decided while Redis is away refuses here and is written when Redis answers', async () => {
      const kept: Record<string, string> = {};
      const connection = fakeConnection((script, _keys, args) => {
        if (script === 'suspend') {
          if (kept[args[0]!] !== undefined) return 0;
          kept[args[0]!] = args[1]!;
          return 1;
        }
        return script === 'hashGet' ? args.map((f) => kept[f] ?? null) : null;
      });
      const registry = new RedisSuspensions(connection, '{tollgate:t}', () => undefined);
      connection.down = true;
      assert.equal(await registry.suspend(RUNNER), true);
      assert.deepEqual(await registry.find([RUNNER.key]), RUNNER);
      connection.down = false;
      assert.deepEqual(await registry.find([RUNNER.key]), RUNNER);
      assert.deepEqual(JSON.parse(kept[RUNNER.key]!), RUNNER, 'written to Redis once it answers');
    });
  });
});
