import assert from 'node:assert/strict';
import type { ScriptConnection } from '../../../src/store/redis/connection';
import { StoreError } from '../../../src/store/redis/errors';
import type { LuaScriptName } from '../../../src/store/redis/lua';
import { RedisToolPins } from '../../../src/store/redis/tool-pins';
import { parsePinnedTool } from '../../../src/store/tool-pins';

// The team's pinned MCP tool definitions are read back from Redis as data: a pin that does not read
// is ignored with a warning (the tool is pinned again as seen, as a damaged pins file is), and with
// Redis out of reach only definitions matching a pin this proxy has read get through.

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const NOW = Date.parse('2026-11-27T12:00:00Z');

/** One Redis hash per key, with the scripts RedisToolPins runs; `down` makes every call fail as an outage. */
function fakeRedis(): { connection: ScriptConnection; hashes: Map<string, Map<string, string>>; down: boolean } {
  const hashes = new Map<string, Map<string, string>>();
  const hash = (key: string): Map<string, string> => {
    let h = hashes.get(key);
    if (!h) hashes.set(key, (h = new Map()));
    return h;
  };
  const fake = {
    hashes,
    down: false,
    connection: {
      run(script: LuaScriptName, keys: readonly string[], args: readonly string[]): Promise<unknown> {
        if (fake.down) return Promise.reject(new StoreError('unavailable', 'Redis is unreachable: connection refused'));
        const h = hash(keys[0]!);
        if (script === 'hashGet') return Promise.resolve(args.map((f) => h.get(f) ?? null));
        if (script === 'hashSwap') {
          if ((h.get(args[0]!) ?? '') !== args[1]) return Promise.resolve(0);
          h.set(args[0]!, args[2]!);
          return Promise.resolve(1);
        }
        return Promise.reject(new Error(`unexpected script ${script}`));
      },
      open: () => Promise.resolve(true),
      ready: () => true,
      close: () => Promise.resolve(),
    } satisfies ScriptConnection,
  };
  return fake;
}

describe('MCP tool pins read back from Redis', () => {
  it('parsePinnedTool reads a pin and its pending change, and nothing else', () => {
    const pin = { sha256: A, pinned_at: '2026-11-27T12:00:00.000Z', pending: { sha256: B, seen_at: '2026-11-27T13:00:00.000Z' } };
    assert.deepEqual(parsePinnedTool(pin), pin);
    assert.deepEqual(parsePinnedTool({ sha256: A, pinned_at: pin.pinned_at }), { sha256: A, pinned_at: pin.pinned_at });
    for (const broken of [null, [pin], 'pin', { ...pin, sha256: 'A'.repeat(64) }, { ...pin, sha256: A.slice(1) }, { ...pin, pinned_at: 'then' }, { ...pin, pending: { sha256: B } }, { ...pin, pending: 'yes' }]) {
      assert.equal(parsePinnedTool(broken), undefined, JSON.stringify(broken));
    }
  });

  it('pins, holds a changed definition and approves it, as the data dir does', async () => {
    const redis = fakeRedis();
    const pins = new RedisToolPins(redis.connection, '{tollgate:t}', () => undefined);
    assert.deepEqual(await pins.observe('s', 't', A, NOW), { kind: 'pinned', sha256: A });
    assert.deepEqual(await pins.observe('s', 't', B, NOW), { kind: 'changed', sha256: B, previous: A, first: true });
    assert.deepEqual(await pins.observe('s', 't', B, NOW), { kind: 'changed', sha256: B, previous: A, first: false });
    assert.equal(await pins.held('s', 't'), true);
    assert.deepEqual(await pins.approve('s', 't', NOW), { ok: true, sha256: B, previous: A });
    assert.equal(await pins.held('s', 't'), false);
    assert.equal((await pins.approve('s', 'unknown', NOW)).ok, false);
    assert.deepEqual([...redis.hashes.keys()], ['{tollgate:t}:mcp-pins:s']);
  });

  it('ignores a pin that does not read, with one warning, and pins the tool again as it is seen', async () => {
    const redis = fakeRedis();
    redis.hashes.set('{tollgate:t}:mcp-pins:s', new Map([['t', '{"sha256": "not a hash"}']]));
    const lines: string[] = [];
    const pins = new RedisToolPins(redis.connection, '{tollgate:t}', (l) => lines.push(l));
    assert.equal(await pins.held('s', 't'), false);
    assert.deepEqual(await pins.observe('s', 't', A, NOW), { kind: 'pinned', sha256: A });
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /the pin of "t" in Redis \{tollgate:t\}:mcp-pins:s does not read; ignored/);
    assert.equal(JSON.parse(redis.hashes.get('{tollgate:t}:mcp-pins:s')!.get('t')!).sha256, A);
  });

  it('with Redis out of reach, lets through only a definition matching a pin it has read', async () => {
    const redis = fakeRedis();
    const pins = new RedisToolPins(redis.connection, '{tollgate:t}', () => undefined);
    await pins.observe('s', 'known', A, NOW);
    redis.down = true;
    assert.deepEqual(await pins.observe('s', 'known', A, NOW), { kind: 'unchanged' });
    assert.equal(await pins.held('s', 'known'), false);
    assert.equal((await pins.observe('s', 'never-seen', A, NOW)).kind, 'changed', 'a tool the team never pinned is hidden');
    assert.equal(await pins.held('s', 'never-seen'), true);
    assert.equal((await pins.observe('s', 'known', B, NOW)).kind, 'changed');
    assert.equal(await pins.held('s', 'known'), true, 'a changed definition is held until Redis answers');
    await assert.rejects(pins.approve('s', 'known', NOW), (err: unknown) => StoreError.is(err, 'unavailable'));
  });
});
