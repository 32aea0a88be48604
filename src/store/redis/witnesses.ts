import { createHash } from 'node:crypto';
import type { Witness, WitnessStore } from '../ledger/witness';
import { parseWitness } from '../ledger/witness';
import type { ScriptConnection } from './connection';
import type { LuaScript } from './lua';

/*
 * Team mode keeps each proxy's latest witness (its ledger's signed head) in Redis, next to the
 * accumulators, under `{tollgate:<namespace>}:witness:<host>:<data dir>`. A proxy that starts on a
 * ledger not extending it refuses to start (launch.ts): the shared store is out of reach of a
 * rollback of one machine's data dir.
 */

function lua(name: string, source: string): LuaScript {
  return { name, source, sha1: createHash('sha1').update(source).digest('hex') };
}

const GET_WITNESS = lua('witness-get', `return redis.call('GET', KEYS[1])`);

// ARGV: seq, ledger ('' for none), witness JSON. A head older than the one kept for the same ledger
// (a proxy stopping late, two writers racing) never replaces it.
const KEEP_WITNESS = lua('witness-keep', `
local current = redis.call('GET', KEYS[1])
if current then
  local ok, kept = pcall(cjson.decode, current)
  if ok and type(kept) == 'table' then
    local ledger = kept.ledger
    if ledger == nil or ledger == cjson.null then ledger = '' end
    if ledger == ARGV[2] and tonumber(kept.seq) ~= nil and tonumber(kept.seq) >= tonumber(ARGV[1]) then return 0 end
  end
end
redis.call('SET', KEYS[1], ARGV[3])
return 1
`);

export class RedisWitnesses implements WitnessStore {
  constructor(
    private readonly connection: ScriptConnection,
    /** The namespace's hash tag, `{tollgate:<namespace>}`. */
    private readonly tag: string,
  ) {}

  key(place: string): string {
    return `${this.tag}:witness:${place}`;
  }

  describe(place: string): string {
    return `Redis key ${this.key(place)}`;
  }

  async latest(place: string): Promise<Witness | null> {
    const text = await this.connection.run(GET_WITNESS, [this.key(place)], []);
    return typeof text === 'string' ? parseWitness(text, this.describe(place)) : null;
  }

  async keep(place: string, w: Witness): Promise<void> {
    await this.connection.run(KEEP_WITNESS, [this.key(place)], [String(w.seq), w.ledger ?? '', JSON.stringify(w)]);
  }
}
