import type { Witness, WitnessStore } from '../ledger/witness';
import { parseWitness } from '../ledger/witness';
import type { ScriptConnection } from './connection';

/*
 * Team mode keeps each proxy's latest witness (its ledger's signed head) in Redis, next to the
 * accumulators, under `{tollgate:<namespace>}:witness:<host>:<data dir>`. A proxy that starts on a
 * ledger not extending it refuses to start (launch.ts): the shared store is out of reach of a
 * rollback of one machine's data dir.
 */

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
    const text = await this.connection.run('witnessGet', [this.key(place)], []);
    return typeof text === 'string' ? parseWitness(text, this.describe(place)) : null;
  }

  async keep(place: string, w: Witness): Promise<void> {
    await this.connection.run('witnessKeep', [this.key(place)], [String(w.seq), w.ledger ?? '', JSON.stringify(w)]);
  }
}
