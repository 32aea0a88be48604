import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { CoreEvents, CoreOptions, SealRequest } from '../../../src/store/ledger/core';
import { LedgerCore } from '../../../src/store/ledger/core';
import { LedgerError } from '../../../src/store/ledger/errors';
import { spawnIndexThread } from '../../../src/store/ledger/index-thread';
import type { IndexThreadSpawner } from '../../../src/store/ledger/index-thread';
import { nodeIo } from '../../../src/store/ledger/io';
import { ledgerPaths } from '../../../src/store/ledger/segments';
import { eventually } from '../../helpers/poll';
import { decision, settle, tempDir } from './fixtures';

// The proxy's ledger keeps its query index on a thread of its own, so inserting rows and writing
// the index's snapshot never hold up an acknowledgement. These run the core on the test's thread
// with the index on its thread, as the ledger's worker does.

const options: CoreOptions = { groupCommitMs: 0, maxBatch: 100, segmentBytes: 1 << 20, snapshotEvery: 100_000, retryMs: 100, diskReserveBytes: 0, diskCheckMs: 1000, index: 'thread' };

interface Opened {
  core: LedgerCore;
  acked: Set<number>;
  seal(n: number, entry?: SealRequest['entry']): string;
}

async function openCore(dir: string, spawn: IndexThreadSpawner, index: CoreOptions['index'] = 'thread'): Promise<Opened> {
  fs.mkdirSync(ledgerPaths(dir).journal, { recursive: true });
  const acked = new Set<number>();
  const events: CoreEvents = {
    acked: (tickets) => tickets.forEach((t) => acked.add(t)),
    rejected: () => undefined,
    health: () => undefined,
  };
  const { core } = await LedgerCore.open(dir, { ...options, index }, nodeIo, events, spawn);
  return {
    core,
    acked,
    seal: (n, entry = decision(n)) => {
      const id = `01J${String(n).padStart(23, '0')}`;
      core.seal([{ ticket: n, id, time: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(), entry }]);
      return id;
    },
  };
}

/** A thread that takes rows and questions and never answers, like an index busy with a long snapshot. */
const busyThread: IndexThreadSpawner = () => new Worker(`require('node:worker_threads').parentPort.on('message', () => {});`, { eval: true });

describe('ledger query index on its own thread', () => {
  it('acknowledges records while the index has not answered, and a lost index fails only the questions', async () => {
    const dir = tempDir();
    let thread: Worker | undefined;
    // The first index thread is busy for good; the one started after it is lost is a real one.
    const { core, acked, seal } = await openCore(dir, (data) => (thread ? spawnIndexThread(data) : (thread = busyThread(data))));
    for (let n = 1; n <= 3; n++) seal(n);
    await eventually(() => acked.size === 3, 'the first records to be acknowledged');
    const question = core.call({ op: 'recent', limit: 10 });
    let answered = false;
    question.then(() => (answered = true), () => (answered = true));
    for (let n = 4; n <= 6; n++) seal(n);
    await eventually(() => acked.size === 6, 'records sealed after the question to be acknowledged');
    assert.equal(answered, false, 'the question still waits on the index');
    await thread!.terminate();
    await assert.rejects(question, (e: unknown) => LedgerError.is(e, 'unavailable') && /query index stopped/.test((e as Error).message));
    assert.equal((await core.call({ op: 'recent', limit: 10 })).length, 6, 'a new index thread answers for every record');
    await core.call({ op: 'close' });
  });

  it('replaces a lost index thread with one that replays the journal, and saves its snapshot at close', async () => {
    const dir = tempDir();
    const threads: Worker[] = [];
    const spawn: IndexThreadSpawner = (data) => {
      const w = spawnIndexThread(data);
      threads.push(w);
      return w;
    };
    const { core, acked, seal } = await openCore(dir, spawn);
    const first = seal(1);
    seal(2);
    seal(3, settle(first, 0.25));
    await eventually(() => acked.size === 3, 'three records acknowledged');
    assert.equal(await core.call({ op: 'settled', id: first }), true);
    assert.equal(threads.length, 1);
    await threads[0].terminate();
    seal(4);
    seal(5);
    await eventually(() => acked.size === 5, 'records sealed while no index thread runs');
    const recent = await core.call({ op: 'recent', limit: 10 });
    assert.equal(threads.length, 2, 'the next question started a new thread');
    assert.equal(recent.length, 4, 'every decision once: replayed up to the tip, and none twice');
    assert.equal(recent.find((d) => d.id === first)?.usd, 0.25, 'the settle replayed with its decision');
    await core.call({ op: 'close' });
    assert.ok(fs.existsSync(ledgerPaths(dir).index), 'the index thread saved its snapshot at close');

    // The snapshot is loaded on the next open: its coverage names the tip, so nothing is replayed twice.
    const again = await openCore(dir, spawnIndexThread, 'here');
    assert.equal((await again.core.call({ op: 'spend', dimension: 'user', range: {} })).reduce((n, r) => n + r.requests, 0), 4);
    await again.core.call({ op: 'close' });
  });

  it('closes without starting a thread when nothing was indexed', async () => {
    const dir = tempDir();
    let started = 0;
    const { core } = await openCore(dir, (data) => {
      started++;
      return spawnIndexThread(data);
    });
    await core.call({ op: 'close' });
    assert.equal(started, 0);
  });
});
