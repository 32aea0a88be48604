import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createClient } from '@redis/client';
import { witnessPlace } from '../../../src/proxy/team-witness';
import { Ledger } from '../../../src/store/ledger/ledger';
import { readCheckpoint } from '../../../src/store/ledger/witness';
import { RedisStore } from '../../../src/store/redis/redis-store';
import { createStore } from '../../../src/store/store-factory';
import { runTollgate } from '../../helpers/cli';
import { MockUpstream } from '../../helpers/mock-upstream';
import { referencePolicy } from '../../helpers/policy';
import { startRedis } from '../../helpers/redis';
import { decision } from '../../unit/ledger/fixtures';
import type { TestRedis } from '../../helpers/redis';
import { serveRefusal, startServe } from '../../helpers/serve-process';

// Team mode keeps each proxy's latest signed head in Redis; a proxy whose data dir was rolled
// back, or whose ledger was deleted and created afresh, refuses to start against it.

describe('team mode: the ledger witness kept in Redis', function () {
  this.timeout(120_000);
  let redis: TestRedis;
  let mock: MockUpstream;
  let upstream: string;
  let store: RedisStore;
  let storeUrl: string;

  before(async function () {
    this.timeout(300_000);
    redis = await startRedis();
    storeUrl = `${redis.url}?namespace=witness-test`;
    mock = new MockUpstream();
    upstream = await mock.start();
    const s = await createStore(storeUrl, referencePolicy());
    assert.ok(s instanceof RedisStore);
    store = s;
  });

  after(async () => {
    await store?.close();
    await mock?.stop();
    await redis?.dispose();
  });

  async function serveCalls(dataDir: string, calls: number): Promise<void> {
    const s = await startServe(['--data-dir', dataDir, '--upstream', `openai=${upstream}`, '--store', storeUrl]);
    const token = (await runTollgate(['token', '--user', 'bob@acme.dev', '--data-dir', dataDir])).stdout.trim();
    for (let i = 0; i < calls; i++) {
      const r = await fetch(`${s.url}/openai/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], max_tokens: 20 }),
      });
      assert.equal(r.status, 200);
    }
    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 0, s.stderr());
  }

  function replaceDir(dataDir: string, withCopy: string): void {
    fs.rmSync(dataDir, { recursive: true });
    fs.cpSync(withCopy, dataDir, { recursive: true });
  }

  function copyOf(dataDir: string): string {
    const to = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-team-copy-'));
    fs.cpSync(dataDir, to, { recursive: true });
    return to;
  }

  it('keeps the head each proxy reached, and refuses a start on a restored copy or a recreated ledger until the witness is removed', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-team-witness-'));
    const place = witnessPlace(dataDir);
    await serveCalls(dataDir, 2);
    const older = copyOf(dataDir);
    await serveCalls(dataDir, 2);
    const kept = await store.witnesses.latest(place);
    assert.deepEqual(kept, readCheckpoint(dataDir), 'the head the proxy stopped at is kept in Redis');
    const newest = copyOf(dataDir);
    const key = store.witnesses.key(place);
    const quoted = key.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

    replaceDir(dataDir, older);
    const restored = await serveRefusal(['--data-dir', dataDir, '--upstream', `openai=${upstream}`, '--store', storeUrl]);
    assert.equal(restored.code, 1, restored.stderr);
    assert.match(restored.stderr, new RegExp(`does not extend the witness team mode keeps for it in Redis key ${quoted} \\(seq ${kept!.seq}, ledger ${kept!.ledger}\\): the ledger's signed head is at seq \\d+, before the witnessed seq ${kept!.seq}`));
    assert.match(restored.stderr, /If the ledger was replaced on purpose, delete that key/);

    replaceDir(dataDir, newest);
    fs.rmSync(path.join(dataDir, 'ledger'), { recursive: true });
    const recreated = await serveRefusal(['--data-dir', dataDir, '--upstream', `openai=${upstream}`, '--store', storeUrl]);
    assert.equal(recreated.code, 1, recreated.stderr);
    assert.match(recreated.stderr, new RegExp(`it names ledger ${kept!.ledger}, but the data dir holds ledger [0-9a-f]{32}: the ledger was deleted and created afresh`));

    // An operator who means it removes the witness; the proxy starts and keeps the new ledger's head.
    const client = createClient({ url: redis.url });
    await client.connect();
    await client.del(key);
    await client.close();
    await serveCalls(dataDir, 1);
    const now = await store.witnesses.latest(place);
    assert.notEqual(now?.ledger, kept!.ledger);
    assert.deepEqual(now, readCheckpoint(dataDir));
  });

  it('never replaces a newer head of the same ledger with an older one', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-team-witness-'));
    const ledger = await Ledger.open(dataDir);
    await ledger.append(decision(1)).durable;
    const early = readCheckpoint(dataDir);
    await ledger.append(decision(2)).durable;
    const late = readCheckpoint(dataDir);
    await ledger.close();
    const place = witnessPlace(dataDir);
    await store.witnesses.keep(place, late);
    await store.witnesses.keep(place, early);
    assert.deepEqual(await store.witnesses.latest(place), late);
  });
});
