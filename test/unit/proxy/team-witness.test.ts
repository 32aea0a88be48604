import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { PassThrough } from 'node:stream';
import { Logger } from '../../../src/proxy/log';
import { TeamWitness, witnessPlace } from '../../../src/proxy/team-witness';
import { Ledger } from '../../../src/store/ledger/ledger';
import type { Witness, WitnessStore } from '../../../src/store/ledger/witness';
import { parseWitness, readCheckpoint } from '../../../src/store/ledger/witness';
import { StoreError } from '../../../src/store/redis/errors';
import { decision, tempDir } from '../ledger/fixtures';

/** A witness store in memory; `failing` makes it unreachable, `raw` holds what is stored as text. */
class MemoryWitnesses implements WitnessStore {
  readonly raw = new Map<string, string>();
  failing = false;
  latest(place: string): Promise<Witness | null> {
    if (this.failing) return Promise.reject(new StoreError('unavailable', 'Redis is unreachable: connection refused'));
    const text = this.raw.get(place);
    return Promise.resolve(text === undefined ? null : parseWitness(text, this.describe(place)));
  }
  keep(place: string, w: Witness): Promise<void> {
    this.raw.set(place, JSON.stringify(w));
    return Promise.resolve();
  }
  describe(place: string): string {
    return `test key ${place}`;
  }
}

function logger(): { log: Logger; text: () => string } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  return { log: new Logger(out, 'debug'), text: () => text };
}

async function grow(dataDir: string, n: number): Promise<void> {
  const ledger = await Ledger.open(dataDir);
  for (let i = 0; i < n; i++) await ledger.append(decision(i)).durable;
  await ledger.close();
}

describe('team witness (TeamWitness)', () => {
  it('checks nothing before a first witness, then keeps the head the proxy reached', async () => {
    const dataDir = tempDir();
    await grow(dataDir, 2);
    const store = new MemoryWitnesses();
    const { log } = logger();
    const witness = new TeamWitness(store, dataDir, log);
    assert.equal(await witness.check(), null);
    await witness.keep();
    await grow(dataDir, 1);
    await witness.stop();
    assert.deepEqual(JSON.parse(store.raw.get(witnessPlace(dataDir))!), readCheckpoint(dataDir));
    assert.equal(await new TeamWitness(store, dataDir, log).check(), null, 'the ledger extends what it kept');
  });

  it('refuses a ledger rolled back behind the witness, and a witness that is not one', async () => {
    const dataDir = tempDir();
    await grow(dataDir, 2);
    const older = tempDir();
    fs.cpSync(dataDir, older, { recursive: true });
    await grow(dataDir, 2);
    const store = new MemoryWitnesses();
    const { log } = logger();
    await new TeamWitness(store, dataDir, log).stop();
    fs.rmSync(dataDir, { recursive: true });
    fs.cpSync(older, dataDir, { recursive: true });
    assert.match((await new TeamWitness(store, dataDir, log).check()) ?? '', /does not extend the witness team mode keeps for it in test key .*: the ledger's signed head is at seq 2, before the witnessed seq 4/);
    store.raw.set(witnessPlace(dataDir), '{"garbage": true}');
    assert.match((await new TeamWitness(store, dataDir, log).check()) ?? '', /test key .* is not a ledger witness.*delete that key/);
  });

  it('starts with a warning when the store cannot be read', async () => {
    const dataDir = tempDir();
    await grow(dataDir, 1);
    const store = new MemoryWitnesses();
    store.failing = true;
    const { log, text } = logger();
    assert.equal(await new TeamWitness(store, dataDir, log).check(), null);
    assert.match(text(), /team witness: cannot read test key .*Redis is unreachable.*not checked against it this time/);
  });
});
