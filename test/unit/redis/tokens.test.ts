import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TeamTokens } from '../../../src/proxy/team-tokens';
import type { ScriptConnection } from '../../../src/store/redis/connection';
import type { LuaScriptName } from '../../../src/store/redis/lua';
import { RedisTokens } from '../../../src/store/redis/tokens';
import type { MintedToken } from '../../../src/store/token-registry';
import { mintedJson, MintedTokenFormatError, parseMintedToken } from '../../../src/store/token-registry';

// The team's token list is read back from Redis field by field: an entry that does not read is
// counted and left out, never shown as a token; and a proxy writes a token's last use at most once
// a minute.

const TOKEN: MintedToken = {
  id: '3f2c9a0e-1111-4222-8333-944455556666', user: 'kim@acme.dev', agent: 'ci', session: 's-1', roles: ['dev'], scope: { models: ['gpt-4o-mini'], maxUsd: 2 },
  issuedAt: Date.parse('2026-11-27T10:00:00Z'), expiresAt: Date.parse('2026-11-27T18:00:00Z'), kid: 'k1',
};

function connection(answer: (script: LuaScriptName, keys: readonly string[], args: readonly string[]) => unknown): ScriptConnection {
  return {
    run: (script, keys, args) => Promise.resolve(answer(script, keys, args)),
    open: () => Promise.resolve(true),
    ready: () => true,
    close: () => Promise.resolve(),
  };
}

describe("the team's token list read back from Redis", () => {
  it('reads a registered token as it was written', () => {
    assert.deepEqual(parseMintedToken(JSON.parse(JSON.stringify(mintedJson(TOKEN)))), TOKEN);
    const bare: MintedToken = { id: 'x', user: 'a@b.c', session: 's', roles: [], issuedAt: 1000, expiresAt: 2000, kid: 'k' };
    assert.deepEqual(parseMintedToken(mintedJson(bare)), bare);
  });

  const line = mintedJson(TOKEN) as unknown as Record<string, unknown>;
  const broken: [string, unknown][] = [
    ['not an object', 'token'],
    ['a missing id', { ...line, id: undefined }],
    ['an agent with spaces', { ...line, agent: 'c i' }],
    ['roles that are not names', { ...line, roles: [1] }],
    ['a scope naming an unknown field', { ...line, scope: { everything: true } }],
    ['an expiry that is not a time', { ...line, expires_at: 'soon' }],
    ['an expiry before the issue', { ...line, expires_at: '2026-11-26T00:00:00Z' }],
  ];
  for (const [what, raw] of broken) {
    it(`refuses an entry with ${what}`, () => assert.throws(() => parseMintedToken(raw), (err: unknown) => MintedTokenFormatError.is(err)));
  }

  it('lists the entries that read and counts the others', async () => {
    const good = `${TOKEN.expiresAt}|${JSON.stringify(mintedJson(TOKEN))}`;
    const hashes: Record<string, string[]> = {
      '{tollgate:t}:tokens': [TOKEN.id, good, 'other-id', good, 'junk', 'not a value', 'junk2', `5|{"id":`],
      '{tollgate:t}:token-use': [TOKEN.id, '1764237600000', 'other-id', 'yesterday'],
    };
    const tokens = new RedisTokens(connection((script, keys) => (script === 'hashAll' ? hashes[keys[0]!] : null)), '{tollgate:t}');
    const listed = await tokens.list();
    assert.deepEqual(listed.tokens, [TOKEN]);
    assert.deepEqual([...listed.uses], [[TOKEN.id, 1764237600000]]);
    assert.equal(listed.unreadable, 4, 'one under another id, two that do not read, one use that is not a time');
  });

  it('a proxy writes a token\'s last use at most once a minute, and registers its data dir\'s tokens once', async () => {
    const calls: [LuaScriptName, readonly string[]][] = [];
    const tokens = new RedisTokens(connection((script, _keys, args) => calls.push([script, args])), '{tollgate:t}');
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-team-tokens-'));
    fs.writeFileSync(path.join(dataDir, 'tokens.jsonl'), `${JSON.stringify(mintedJson(TOKEN))}\n`);
    const team = new TeamTokens({ dataDir, tokens, log: { warn: () => undefined, info: () => undefined }, clock: () => TOKEN.issuedAt });
    const t0 = TOKEN.issuedAt;
    for (const at of [t0, t0 + 1000, t0 + 59_999, t0 + 60_000, t0 + 61_000]) team.noteUse(TOKEN.id, at);
    await team.share();
    await team.share();
    const uses = calls.filter(([s]) => s === 'tokenUse').map(([, args]) => Number(args[1]));
    assert.deepEqual(uses, [t0, t0 + 60_000]);
    const registered = calls.filter(([s]) => s === 'tokenAdd');
    assert.equal(registered.length, 1, 'an unchanged registry is not sent again');
    assert.equal(registered[0]![1][1], TOKEN.id);
  });
});
