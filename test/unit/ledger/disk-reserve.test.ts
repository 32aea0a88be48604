import assert from 'node:assert/strict';
import { DiskReserve, LowDiskSpace } from '../../../src/store/ledger/disk-reserve';
import { LedgerError } from '../../../src/store/ledger/errors';
import type { LedgerIo } from '../../../src/store/ledger/io';
import { nodeIo } from '../../../src/store/ledger/io';
import { Ledger } from '../../../src/store/ledger/ledger';
import { dataDirPublicKey } from '../../../src/store/ledger/signer';
import { verifyLedger } from '../../../src/store/ledger/verify';
import { eventually } from '../../helpers/poll';
import { decision, tempDir } from './fixtures';
import { readJournalLines } from './tamper';

const MiB = 1024 * 1024;

/** A disk whose free space the test sets, shrinking as the ledger writes, without filling a real one. */
class ShrinkingDisk implements LedgerIo {
  free = 10_000 * MiB;
  async write(fd: number, data: Buffer, position: number): Promise<void> {
    await nodeIo.write(fd, data, position);
    this.free -= data.length;
  }
  fsync(fd: number): Promise<void> {
    return nodeIo.fsync(fd);
  }
  truncate(fd: number, length: number): Promise<void> {
    return nodeIo.truncate(fd, length);
  }
  freeBytes(): number {
    return this.free;
  }
}

describe('ledger disk reserve', () => {
  it('refuses records before free space drops below the reserve, keeps the journal whole, and recovers when space comes back', async () => {
    const dir = tempDir();
    const disk = new ShrinkingDisk();
    // No reading on a timer here: the write that would cross the reserve is what reads the disk again.
    const ledger = await Ledger.open(dir, { io: disk, retryMs: 10, diskReserveBytes: 64 * MiB, diskCheckMs: 3_600_000 });
    disk.free = 64 * MiB + 1500; // room for one record (about 950 bytes) above the reserve
    await ledger.append(decision(1)).durable;

    disk.free = 64 * MiB - 1; // something else wrote to the disk meanwhile
    const { durable } = ledger.append(decision(2));
    await assert.rejects(durable, (e: unknown) => LedgerError.is(e, 'unavailable'));
    assert.equal(ledger.health.ok, false);
    assert.match(ledger.health.ok ? '' : ledger.health.reason, /disk nearly full: 64\.0 MiB free on the ledger's disk, below the 64\.0 MiB reserve/);
    assert.throws(() => ledger.append(decision(3)), (e: unknown) => LedgerError.is(e, 'unavailable'));
    assert.equal(readJournalLines(dir).length, 1, 'nothing was written past the reserve');

    disk.free = 1000 * MiB;
    await eventually(() => ledger.health.ok, 'the ledger to recover once space is back');
    assert.equal((await ledger.append(decision(4)).durable).seq, 2);
    await ledger.close();
    const v = await verifyLedger(dir, dataDirPublicKey(dir));
    assert.equal(v.ok, true, v.problem?.message);
    assert.equal(v.records, 2);
  });

  it('turns unhealthy while idle when something else fills the disk', async () => {
    const disk = new ShrinkingDisk();
    const ledger = await Ledger.open(tempDir(), { io: disk, retryMs: 10, diskCheckMs: 10 });
    try {
      await ledger.append(decision(1)).durable;
      disk.free = 10 * MiB; // below the default 64 MiB reserve
      await eventually(() => !ledger.health.ok, 'health to turn while no record is written');
      disk.free = 100 * MiB;
      await eventually(() => ledger.health.ok, 'health to come back');
    } finally {
      await ledger.close();
    }
  });

  it('reads free space once per interval and counts its own writes in between, so a burst never runs past the reserve', () => {
    let free = 64 * MiB + 30_000;
    let reads = 0;
    const reserve = new DiskReserve('/unused', 64 * MiB, 3_600_000, () => {
      reads++;
      return free;
    });
    for (let i = 0; i < 3; i++) {
      reserve.ensure(9_000);
      reserve.wrote(9_000);
      free -= 9_000;
    }
    assert.equal(reads, 1, 'three batches that fit cost one reading');
    assert.throws(() => reserve.ensure(9_000), (e: unknown) => e instanceof LowDiskSpace && e.code === 'ELOWSPACE');
    assert.equal(reads, 2, 'the batch that would cross the reserve read the disk again before refusing');
    assert.doesNotThrow(() => new DiskReserve('/unused', 0, 1000, () => 0).ensure(1_000_000), 'a reserve of 0 is off');
  });
});
