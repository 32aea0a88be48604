import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LedgerError } from '../../../src/store/ledger/errors';
import type { LedgerIo } from '../../../src/store/ledger/io';
import { nodeIo } from '../../../src/store/ledger/io';
import { Ledger } from '../../../src/store/ledger/ledger';
import type { LedgerHealth } from '../../../src/store/ledger/ledger';
import { ledgerPaths } from '../../../src/store/ledger/segments';
import { dataDirPublicKey } from '../../../src/store/ledger/signer';
import { verifyLedger } from '../../../src/store/ledger/verify';
import { decision, settle, tempDir } from './fixtures';
import { journalFile, readJournalLines, writeJournalLines } from './tamper';
import { eventually } from '../../helpers/poll';

/**
 * A disk that can be made to fail. Tests may run as root, where a read-only chmod does not stop
 * writes, so failures are injected at the ledger's write layer instead.
 */
class FaultyIo implements LedgerIo {
  failing: string | null = null;
  /** Fail only the n-th write from now (1 = the next one), then work again. */
  failNthWrite = 0;
  writes = 0;
  fsyncs = 0;
  /** The inode of each file synced, in order. */
  synced: number[] = [];
  private error(): NodeJS.ErrnoException {
    const err: NodeJS.ErrnoException = new Error(`${this.failing ?? 'EIO'}: injected`);
    err.code = this.failing ?? 'EIO';
    return err;
  }
  async write(fd: number, data: Buffer, position: number): Promise<void> {
    this.writes++;
    if (this.failNthWrite > 0 && --this.failNthWrite === 0) throw this.error();
    if (this.failing) {
      // A full disk takes part of the write before it refuses: leave a torn fragment behind.
      await nodeIo.write(fd, data.subarray(0, Math.floor(data.length / 2)), position);
      throw this.error();
    }
    await nodeIo.write(fd, data, position);
  }
  async fsync(fd: number): Promise<void> {
    this.fsyncs++;
    this.synced.push(fs.fstatSync(fd).ino);
    if (this.failing) throw this.error();
    await nodeIo.fsync(fd);
  }
  async truncate(fd: number, length: number): Promise<void> {
    if (this.failing) throw this.error();
    await nodeIo.truncate(fd, length);
  }
}

async function settleAll<T>(ps: Promise<T>[]): Promise<PromiseSettledResult<T>[]> {
  return Promise.allSettled(ps);
}


describe('ledger durability', () => {
  it('batches concurrent appends into far fewer fsyncs (group commit)', async () => {
    const dir = tempDir();
    const ledger = await Ledger.open(dir);
    const outs = Array.from({ length: 500 }, (_, i) => ledger.append(decision(i)));
    await Promise.all(outs.map((o) => o.durable));
    assert.equal(ledger.stats.records, 500);
    assert.ok(ledger.stats.batches < 50, `500 records took ${ledger.stats.batches} journal fsyncs`);
    await ledger.close();

    const single = await Ledger.open(tempDir(), { maxBatch: 1 });
    const outs1 = Array.from({ length: 50 }, (_, i) => single.append(decision(i)));
    await Promise.all(outs1.map((o) => o.durable));
    assert.equal(single.stats.batches, 50);
    await single.close();
  });

  it('lets a settle wait for the next decision\'s commit, one sync for both, and still commits it alone or on close', async () => {
    const dir = tempDir();
    const ledger = await Ledger.open(dir);
    const first = ledger.append(decision(1));
    await first.durable;
    const before = ledger.stats.batches;
    // One call at a time: its settle, then a moment later the next call's decision.
    const settled = ledger.append(settle(first.record.id), { lazy: true });
    await new Promise((r) => setTimeout(r, 2));
    const next = ledger.append(decision(2));
    await Promise.all([settled.durable, next.durable]);
    assert.equal(ledger.stats.batches, before + 1, 'the settle and the next decision share one commit');
    // With no record after it, a settle is still committed, a moment later.
    const alone = ledger.append(settle(next.record.id), { lazy: true });
    assert.equal((await alone.durable).seq, 4);
    assert.equal(ledger.stats.batches, before + 2);
    // Closing commits a waiting settle at once.
    const third = ledger.append(decision(3));
    await third.durable;
    ledger.append(settle(third.record.id), { lazy: true });
    await ledger.close();
    const reopened = await Ledger.open(dir);
    const kinds: string[] = [];
    for await (const r of reopened.records()) kinds.push(r.kind);
    assert.deepEqual(kinds, ['decision', 'settle', 'decision', 'settle', 'decision', 'settle']);
    await reopened.close();
  });

  it('assigns the id at once and resolves durable with seq and hash only once the record is on disk', async () => {
    const dir = tempDir();
    const ledger = await Ledger.open(dir);
    const a = ledger.append(decision(1));
    const b = ledger.append(decision(2));
    assert.ok(a.record.id < b.record.id);
    assert.equal(readJournalLines(dir).length, 0); // not written yet: the caller may forward meanwhile
    const [sa, sb] = await Promise.all([a.durable, b.durable]);
    assert.equal(sa.seq, 1);
    const lines = readJournalLines(dir).map((l) => JSON.parse(l) as { id: string; prev: string; hash: string });
    assert.equal(lines.length, 2);
    assert.deepEqual([lines[1].id, lines[1].prev, lines[1].hash], [b.record.id, sa.hash, sb.hash]);
    assert.equal(ledger.head.seq, 2);
    await ledger.close();
  });

  it('keeps one process per data dir and takes over a lock left by a killed process', async () => {
    const dir = tempDir();
    const ledger = await Ledger.open(dir);
    await assert.rejects(Ledger.open(dir), (e: unknown) => LedgerError.is(e, 'locked') && /in use by pid/.test(e.message));
    await ledger.close();
    // A SIGKILLed proxy leaves its lock behind, naming a pid that no longer runs.
    fs.writeFileSync(ledgerPaths(dir).lock, JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname() }));
    const again = await Ledger.open(dir);
    await again.close();
    assert.equal(fs.existsSync(ledgerPaths(dir).lock), false);
  });

  it('takes over a lock whose pid now belongs to another process (reused after a crash or a reboot)', async function () {
    if (!fs.existsSync('/proc/self/stat')) this.skip(); // where /proc is missing the pid is all there is
    const dir = tempDir();
    const ledger = await Ledger.open(dir);
    const held = JSON.parse(fs.readFileSync(ledgerPaths(dir).lock, 'utf8')) as { pid: number; boot: string; start: string };
    assert.equal(held.pid, process.pid);
    assert.ok(held.boot && held.start, 'the lock names the boot and the owner\'s start time');
    await ledger.close();
    // This test's own pid runs, but it is not the process that took these locks.
    for (const stale of [{ ...held, start: String(Number(held.start) + 1) }, { ...held, boot: 'another-boot' }]) {
      fs.writeFileSync(ledgerPaths(dir).lock, JSON.stringify(stale));
      const taken = await Ledger.open(dir);
      await taken.close();
    }
    // The same pid with the same start is this process: still held.
    fs.writeFileSync(ledgerPaths(dir).lock, JSON.stringify(held));
    await assert.rejects(Ledger.open(dir), (e: unknown) => LedgerError.is(e, 'locked'));
    fs.rmSync(ledgerPaths(dir).lock);
  });

  it('cuts a torn last line that was never acknowledged and carries on', async () => {
    const dir = tempDir();
    let ledger = await Ledger.open(dir);
    for (let i = 0; i < 5; i++) ledger.append(decision(i));
    await ledger.close();
    fs.appendFileSync(journalFile(dir), '{"id":"01J","seq":6,"time":"2026-'); // SIGKILL mid-write
    ledger = await Ledger.open(dir);
    assert.ok(ledger.recovered);
    assert.match(ledger.recovered.problem, /incomplete line/);
    assert.equal((await ledger.append(decision(6)).durable).seq, 6);
    await ledger.close();
    const r = await verifyLedger(dir, dataDirPublicKey(dir));
    assert.equal(r.ok, true, r.problem?.message);
    assert.equal(r.records, 6);
  });

  it('refuses to open, saying where, when damage lies before the signed head', async () => {
    const dir = tempDir();
    const ledger = await Ledger.open(dir);
    for (let i = 0; i < 5; i++) ledger.append(decision(i));
    await ledger.close();
    const lines = readJournalLines(dir);
    lines[2] = lines[2].slice(0, 40);
    writeJournalLines(dir, lines);
    await assert.rejects(Ledger.open(dir), (e: unknown) => LedgerError.is(e, 'corrupt') && /damaged at byte \d+.*not a torn write/.test(e.message));
    writeJournalLines(dir, readJournalLines(dir).slice(0, 2));
    await assert.rejects(Ledger.open(dir), (e: unknown) => LedgerError.is(e, 'corrupt') && /signed head names seq 5/.test(e.message));
  });

  for (const code of ['ENOSPC', 'EROFS']) {
    it(`on ${code}: rejects durable, turns unhealthy with a reason, refuses appends, and recovers when the disk does`, async () => {
      const dir = tempDir();
      const io = new FaultyIo();
      const healths: LedgerHealth[] = [];
      const ledger = await Ledger.open(dir, { io, retryMs: 10, onHealthChange: (h) => healths.push(h) });
      await ledger.append(decision(1)).durable;

      io.failing = code;
      const failed = [ledger.append(decision(2)), ledger.append(decision(3))];
      const results = await settleAll(failed.map((f) => f.durable));
      assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
      assert.ok(results.every((r) => r.status === 'rejected' && LedgerError.is(r.reason, 'unavailable')));
      assert.equal(ledger.health.ok, false);
      assert.match(ledger.health.ok ? '' : ledger.health.reason, code === 'ENOSPC' ? /disk full/ : /read-only/);
      assert.throws(() => ledger.append(decision(4)), (e: unknown) => LedgerError.is(e, 'unavailable'));

      io.failing = null;
      await eventually(() => ledger.health.ok, 'the ledger to be healthy again', 5000, 5);
      const sealed = await ledger.append(decision(5)).durable;
      assert.equal(sealed.seq, 2, 'the rejected records never joined the chain; their seqs are reused');
      assert.deepEqual(healths.map((h) => h.ok), [false, ...healths.slice(1, -1).map(() => false), true]);
      await ledger.close();
      const r = await verifyLedger(dir, dataDirPublicKey(dir));
      assert.equal(r.ok, true, r.problem?.message);
      assert.equal(r.records, 2);
    });
  }

  it('keeps a commit acknowledged when the head write after it fails, and writes the head again once it can', async () => {
    const dir = tempDir();
    const io = new FaultyIo();
    const healths: LedgerHealth[] = [];
    const ledger = await Ledger.open(dir, { io, retryMs: 10, onHealthChange: (h) => healths.push(h) });
    await ledger.append(decision(1)).durable;
    io.failNthWrite = 2; // the journal write succeeds, the head write after it fails
    const sealed = await ledger.append(decision(2)).durable;
    assert.equal(sealed.seq, 2, 'acknowledged once the journal held it, signed and synced');
    await eventually(() => healths.some((h) => !h.ok) && ledger.health.ok, 'the ledger to turn unhealthy and back', 5000, 5);
    assert.equal(readJournalLines(dir).length, 2, 'the acknowledged record stays');
    assert.equal((await ledger.append(decision(3)).durable).seq, 3);
    await ledger.close();
    const reopened = await Ledger.open(dir);
    assert.equal(reopened.head.seq, 3);
    assert.equal(reopened.recovered, null);
    await reopened.close();
    assert.equal((await verifyLedger(dir, dataDirPublicKey(dir))).ok, true);
  });

  it('syncs the journal once per commit on the way to the acknowledgement; the head follows with a lazy sync', async () => {
    const dir = tempDir();
    const io = new FaultyIo();
    const ledger = await Ledger.open(dir, { io });
    const journal = fs.statSync(journalFile(dir)).ino;
    const head = fs.statSync(ledgerPaths(dir).head).ino;
    for (let i = 0; i < 5; i++) await ledger.append(decision(i)).durable;
    assert.equal(io.synced.filter((ino) => ino === journal).length, 5, 'one data sync per commit');
    await ledger.close();
    assert.ok(io.synced.includes(head), 'close syncs the head');
    assert.equal(io.synced.filter((ino) => ino === journal).length, 5);
    assert.equal((JSON.parse(fs.readFileSync(ledgerPaths(dir).head, 'utf8').slice(0, 512)) as { seq: number }).seq, 5);
  });

  it('rolls to a new segment past the size limit and reads across segments', async () => {
    const dir = tempDir();
    const ledger = await Ledger.open(dir, { segmentBytes: 4096 });
    for (let round = 0; round < 5; round++) {
      await Promise.all(Array.from({ length: 10 }, (_, i) => ledger.append(decision(round * 10 + i)).durable));
    }
    await ledger.close();
    assert.ok(fs.readdirSync(path.join(ledgerPaths(dir).journal)).length > 2);
    const reopened = await Ledger.open(dir);
    let n = 0;
    for await (const r of reopened.records()) assert.equal(r.seq, ++n);
    assert.equal(n, 50);
    await reopened.close();
    assert.equal((await verifyLedger(dir, dataDirPublicKey(dir))).records, 50);
  });
});
