import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { spawnLedgerWorker, startWorkerBackend } from '../../../src/store/ledger/backend';
import { LedgerError } from '../../../src/store/ledger/errors';
import { nodeIo } from '../../../src/store/ledger/io';
import { Ledger } from '../../../src/store/ledger/ledger';
import { ledgerPaths } from '../../../src/store/ledger/segments';
import { dataDirPublicKey } from '../../../src/store/ledger/signer';
import { verifyLedger } from '../../../src/store/ledger/verify';
import { eventually } from '../../helpers/poll';
import { decision, settle, steppingClock, tempDir } from './fixtures';
import { readJournalLines, writeJournalLines } from './tamper';

// The proxy's ledger seals and writes on a worker thread; these prove the thread keeps every
// promise the ledger makes on the caller's thread (durability.test.ts and the rest).
describe('ledger on a worker thread', () => {
  it('seals, writes and acknowledges concurrent records in chain order, and the chain verifies', async () => {
    const dir = tempDir();
    const ledger = await Ledger.open(dir, { worker: true });
    const appended = Array.from({ length: 400 }, (_, i) => ledger.append(decision(i)));
    const sealed = await Promise.all(appended.map((a) => a.durable));
    assert.deepEqual(sealed.map((s) => s.seq), appended.map((_, i) => i + 1));
    assert.deepEqual(ledger.head, sealed[sealed.length - 1]);
    assert.equal(ledger.stats.records, 400);
    assert.ok(ledger.stats.fsyncs < 400, 'records appended together share an fsync');
    const lines = readJournalLines(dir).map((l) => JSON.parse(l) as { id: string; hash: string });
    assert.deepEqual(lines.map((l) => l.id), appended.map((a) => a.record.id), 'the ids the caller was given are the ones on disk');
    assert.deepEqual(lines.map((l) => l.hash), sealed.map((s) => s.hash));
    await ledger.close();
    const report = await verifyLedger(dir, dataDirPublicKey(dir));
    assert.equal(report.ok, true, report.problem?.message);
    assert.equal(report.records, 400);
  });

  it('rejects an entry with no canonical form as invalid, without taking its seq', async () => {
    const dir = tempDir();
    const ledger = await Ledger.open(dir, { worker: true });
    const bad = ledger.append(decision(1, { reserved: { input_tokens: 1, output_tokens: 1, usd: Number.NaN } }));
    const good = ledger.append(decision(2));
    await assert.rejects(bad.durable, (e: unknown) => LedgerError.is(e, 'invalid'));
    assert.equal((await good.durable).seq, 1);
    await ledger.close();
  });

  it('answers queries and replay from the index it keeps on its thread, across a restart', async () => {
    const dir = tempDir();
    let ledger = await Ledger.open(dir, { worker: true, clock: steppingClock() });
    const a = ledger.append(decision(1)).record;
    const b = ledger.append(decision(2)).record;
    await ledger.append(settle(a.id, 0.02)).durable;
    assert.equal(await ledger.isSettled(a.id), true);
    assert.equal(await ledger.isSettled(b.id), false);
    assert.deepEqual((await ledger.recentDecisions(5)).map((d) => d.id), [b.id, a.id]);
    await ledger.close();
    ledger = await Ledger.open(dir, { worker: true });
    const rows = await ledger.spendBy('user');
    assert.equal(rows.reduce((n, r) => n + r.requests, 0), 2);
    const items = [];
    for await (const item of ledger.replay('2000-01-01')) items.push([item.decision.id, item.settle?.usd ?? null]);
    assert.deepEqual(items.sort(), [[a.id, 0.02], [b.id, null]].sort());
    await ledger.close();
  });

  it('prunes through the thread, leaving a chain that verifies', async () => {
    const dir = tempDir();
    const ledger = await Ledger.open(dir, { worker: true, clock: steppingClock(Date.parse('2026-01-01T00:00:00Z'), 3_600_000) });
    await Promise.all(Array.from({ length: 10 }, (_, i) => ledger.append(decision(i)).durable));
    const result = await ledger.prune('2026-01-01T04:30:00Z');
    assert.equal(result.removed, 5);
    assert.ok(result.checkpoint);
    await ledger.close();
    assert.equal((await verifyLedger(dir, dataDirPublicKey(dir))).ok, true);
  });

  it('recovers a torn tail on its thread and reports damage before the head as corrupt', async () => {
    const dir = tempDir();
    let ledger = await Ledger.open(dir, { worker: true });
    await Promise.all(Array.from({ length: 5 }, (_, i) => ledger.append(decision(i)).durable));
    await ledger.close();
    fs.appendFileSync(ledgerPaths(dir).journal + '/' + fs.readdirSync(ledgerPaths(dir).journal)[0], '{"id":"01J","seq":6,"ti');
    ledger = await Ledger.open(dir, { worker: true });
    assert.match(ledger.recovered?.problem ?? '', /incomplete line/);
    assert.equal((await ledger.append(decision(6)).durable).seq, 6);
    await ledger.close();

    const lines = readJournalLines(dir);
    lines[1] = lines[1].slice(0, 30);
    writeJournalLines(dir, lines);
    await assert.rejects(Ledger.open(dir, { worker: true }), (e: unknown) => LedgerError.is(e, 'corrupt') && /not a torn write/.test(e.message));
    // The failed open let go of the data dir.
    assert.equal(fs.existsSync(ledgerPaths(dir).lock), false);
  });

  it('holds the data dir lock against a second ledger, and refuses an injected write layer', async () => {
    const dir = tempDir();
    const ledger = await Ledger.open(dir, { worker: true });
    await assert.rejects(Ledger.open(dir, { worker: true }), (e: unknown) => LedgerError.is(e, 'locked'));
    await ledger.close();
    await assert.rejects(Ledger.open(dir, { worker: true, io: nodeIo }), (e: unknown) => LedgerError.is(e, 'invalid'));
  });

  it('carries a settle to the thread with the next decision, or alone once its wait is over', async () => {
    const dir = tempDir();
    const seals: { lazy: boolean[] }[] = [];
    const ledger = await Ledger.open(dir, {
      worker: true,
      spawnWorker: (data) => {
        const w = spawnLedgerWorker(data);
        const post = w.postMessage.bind(w);
        w.postMessage = (m: { type: string; requests?: { lazy?: boolean }[] }) => {
          if (m.type === 'seal') seals.push({ lazy: m.requests!.map((r) => r.lazy === true) });
          post(m);
        };
        return w;
      },
    });
    const first = ledger.append(decision(1));
    await first.durable;
    assert.deepEqual(seals, [{ lazy: [false] }]);
    // One call at a time: the settle waits on this thread, and the next decision takes it along.
    const settled = ledger.append(settle(first.record.id), { lazy: true });
    await new Promise((r) => setImmediate(r));
    assert.equal(seals.length, 1, 'a settle alone does not wake the thread at once');
    const next = ledger.append(decision(2));
    await Promise.all([settled.durable, next.durable]);
    assert.deepEqual(seals[1], { lazy: [true, false] }, 'one message carries both');
    // A settle with no decision after it crosses once its wait is over, to be written at once.
    const alone = ledger.append(settle(next.record.id), { lazy: true });
    assert.equal((await alone.durable).seq, 4);
    assert.deepEqual(seals[2], { lazy: [false] });
    assert.equal(seals.length, 3);
    await ledger.close();
    assert.equal((await verifyLedger(dir, dataDirPublicKey(dir))).records, 4);
  });

  it('writes what was appended before close, and refuses appends after it', async () => {
    const dir = tempDir();
    const ledger = await Ledger.open(dir, { worker: true });
    const last = ledger.append(decision(1));
    await ledger.close();
    assert.equal((await last.durable).seq, 1, 'close writes what was appended before it');
    assert.throws(() => ledger.append(decision(2)), (e: unknown) => LedgerError.is(e, 'closed'));
  });
});

describe('ledger whose worker thread is lost', () => {
  it('fails what waits on a lost thread and reports that it stopped', async () => {
    const dir = tempDir();
    fs.mkdirSync(ledgerPaths(dir).journal, { recursive: true });
    let worker: Worker | undefined;
    const stopped: string[] = [];
    const rejected: { tickets: number[]; reason: string }[] = [];
    const events = {
      acked: () => undefined,
      rejected: (tickets: number[], error: LedgerError) => rejected.push({ tickets, reason: error.reason }),
      health: () => undefined,
      stopped: (reason: string) => stopped.push(reason),
    };
    const options = { groupCommitMs: 0, maxBatch: 100, segmentBytes: 1 << 20, snapshotEvery: 1000, retryMs: 100, diskReserveBytes: 0, diskCheckMs: 1000, index: 'thread' as const };
    const { backend } = await startWorkerBackend(dir, options, events, (data) => (worker = spawnLedgerWorker(data)));
    assert.equal((await backend.call({ op: 'recent', limit: 1 })).length, 0);
    await worker!.terminate(); // as if the thread had crashed
    assert.equal(stopped.length, 1);
    assert.match(stopped[0], /writer thread exited/);
    await assert.rejects(backend.call({ op: 'drain' }), (e: unknown) => LedgerError.is(e, 'unavailable'));
    backend.seal({ ticket: 7, id: '01J0000000000000000000000A', time: new Date().toISOString(), entry: decision(7) });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(rejected, [{ tickets: [7], reason: 'unavailable' }]);
  });

  it('fails closed while the thread is gone, starts a new one, and carries on the same chain', async () => {
    const dir = tempDir();
    const workers: Worker[] = [];
    const healths: boolean[] = [];
    const ledger = await Ledger.open(dir, {
      worker: true, retryMs: 50,
      spawnWorker: (data) => {
        const w = spawnLedgerWorker(data);
        workers.push(w);
        return w;
      },
      onHealthChange: (h) => healths.push(h.ok),
    });
    await ledger.append(decision(1)).durable;
    await workers[0].terminate(); // as if the thread had crashed
    assert.equal(ledger.health.ok, false);
    assert.match(ledger.health.ok ? '' : ledger.health.reason, /writer thread exited/);
    assert.throws(() => ledger.append(decision(2)), (e: unknown) => LedgerError.is(e, 'unavailable'));
    await eventually(() => ledger.health.ok, 'a new thread to take over', 10_000);
    assert.equal(workers.length, 2);
    assert.equal((await ledger.append(decision(3)).durable).seq, 2);
    await ledger.close();
    assert.deepEqual(healths, [false, true]);
    const report = await verifyLedger(dir, dataDirPublicKey(dir));
    assert.equal(report.ok, true, report.problem?.message);
    assert.equal(report.records, 2);
  });

  it('keeps starting threads until one stays, even when a new one dies as it opens', async () => {
    const dir = tempDir();
    const workers: Worker[] = [];
    const ledger = await Ledger.open(dir, {
      worker: true, retryMs: 50,
      spawnWorker: (data) => {
        const w = spawnLedgerWorker(data);
        workers.push(w);
        if (workers.length === 2) w.once('message', () => void w.terminate()); // gone right after it is ready
        return w;
      },
    });
    await ledger.append(decision(1)).durable;
    await workers[0].terminate();
    await eventually(() => ledger.health.ok && workers.length >= 3, 'a thread that stays', 10_000);
    assert.equal(workers.length, 3, 'the thread that died as it opened was replaced too');
    assert.equal((await ledger.append(decision(2)).durable).seq, 2);
    await ledger.close();
  });

  it('closes cleanly while its thread is gone', async () => {
    const dir = tempDir();
    let worker: Worker | undefined;
    const ledger = await Ledger.open(dir, { worker: true, retryMs: 60_000, spawnWorker: (data) => (worker = spawnLedgerWorker(data)) });
    await ledger.append(decision(1)).durable;
    await worker!.terminate();
    await ledger.close();
    assert.equal(fs.existsSync(ledgerPaths(dir).lock), false);
    assert.equal((await verifyLedger(dir, dataDirPublicKey(dir))).records, 1);
  });
});
