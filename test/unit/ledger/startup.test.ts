import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { LedgerError } from '../../../src/store/ledger/errors';
import { dataDirRecords } from '../../../src/store/ledger/export';
import { Ledger } from '../../../src/store/ledger/ledger';
import type { AuditRecord } from '../../../src/contracts/audit-records';
import { ledgerPaths, listSegments } from '../../../src/store/ledger/segments';
import { dataDirPublicKey, recordBytes, sha256Hex } from '../../../src/store/ledger/signer';
import { verifyLedger } from '../../../src/store/ledger/verify';
import { decision, settle, steppingClock, tempDir } from './fixtures';
import { journalFile, readJournalLines, rewriteAllSegments, writeJournalLines } from './tamper';

async function ledgerWith(n: number, options: { segmentBytes?: number } = {}): Promise<string> {
  const dir = tempDir();
  const ledger = await Ledger.open(dir, { clock: steppingClock(), ...options });
  for (let i = 1; i <= n; i++) {
    const { record } = ledger.append(decision(i));
    await ledger.append(settle(record.id)).durable; // one commit per call, so small segments roll
  }
  await ledger.close();
  return dir;
}

async function collect(records: AsyncIterable<AuditRecord>): Promise<AuditRecord[]> {
  const all: AuditRecord[] = [];
  for await (const r of records) all.push(r);
  return all;
}

/** A record that links to `after` and hashes right, but that no key signed: what anyone can append. */
function unsignedAfter(after: AuditRecord): string {
  const forged: Record<string, unknown> = { id: '7ZZZZZZZZZZZZZZZZZZZZZZZZZ', seq: after.seq + 1, time: after.time, ...settle(after.id, 0), prev: after.hash };
  forged.hash = sha256Hex(recordBytes(forged));
  return JSON.stringify(forged);
}

describe('ledger start: only what the signed head covers is trusted', () => {
  it('cuts off an unsigned line appended after the signed head and reports it, instead of adopting it', async () => {
    const dir = await ledgerWith(3); // seq 1..6
    const lines = readJournalLines(dir);
    const last = JSON.parse(lines[lines.length - 1]!) as AuditRecord;
    fs.appendFileSync(journalFile(dir), `${unsignedAfter(last)}\n`);

    const ledger = await Ledger.open(dir);
    assert.ok(ledger.recovered, 'the cut is reported');
    assert.match(ledger.recovered.problem, /cut off 1 line after the signed head \(seq 6\).*record seq 7.*unsigned/);
    assert.equal(ledger.head.seq, 6);
    const sealed = await ledger.append(decision(9)).durable;
    assert.equal(sealed.seq, 7, 'the appended line never joined the chain; its seq goes to the next real record');
    const records = await collect(ledger.records());
    assert.ok(!records.some((r) => r.id === '7ZZZZZZZZZZZZZZZZZZZZZZZZZ'));
    await ledger.close();
    const v = await verifyLedger(dir, dataDirPublicKey(dir));
    assert.equal(v.ok, true, v.problem?.message);
  });

  it('adopts commits the head never named (kill -9 between the journal sync and the head write) and brings the head up to them', async () => {
    const dir = await ledgerWith(2); // seq 1..4
    const headFile = ledgerPaths(dir).head;
    const olderHead = fs.readFileSync(headFile);
    const ledger = await Ledger.open(dir);
    const ids = [ledger.append(decision(5)), ledger.append(decision(6))].map((a) => a.record.id);
    await ledger.append(decision(7)).durable; // acknowledged: seq 5..7
    await ledger.close();
    fs.writeFileSync(headFile, olderHead); // the journal holds seq 5..7, the head still names seq 4

    const lagging = await verifyLedger(dir, dataDirPublicKey(dir));
    assert.equal(lagging.ok, true, lagging.problem?.message);
    assert.equal(lagging.records, 7, 'verify counts the commits after a lagging head');
    const exported = await collect(dataDirRecords(dir, {}, dataDirPublicKey(dir)));
    assert.deepEqual(exported.map((r) => r.seq), [1, 2, 3, 4, 5, 6, 7], 'export reads the acknowledged commits past the head');
    assert.deepEqual(exported.map((r) => typeof r.sig === 'string'), [false, true, false, true, false, false, true], 'each commit signed on its last record');
    const reopened = await Ledger.open(dir);
    assert.equal(reopened.head.seq, 7);
    assert.equal(reopened.recovered, null, 'nothing was cut');
    const replayed = await collect(reopened.verifiedRecords());
    assert.ok(ids.every((id) => replayed.some((r) => r.id === id)), 'every acknowledged id is kept');
    await reopened.close();
    assert.equal(JSON.parse(fs.readFileSync(headFile, 'utf8').slice(0, 512)).seq, 7, 'the head names the adopted tip');
    assert.equal((await verifyLedger(dir, dataDirPublicKey(dir))).ok, true);
  });

  it('cuts the records of a commit a crash cut short (no signed record at its end), keeping the signed commits before them', async () => {
    const dir = await ledgerWith(2); // seq 1..4
    const headFile = ledgerPaths(dir).head;
    const olderHead = fs.readFileSync(headFile);
    const ledger = await Ledger.open(dir);
    await ledger.append(decision(5)).durable; // its own commit: seq 5, signed
    ledger.append(decision(6));
    await ledger.append(decision(7)).durable; // one commit: seq 6, 7 (signed)
    await ledger.close();
    fs.writeFileSync(headFile, olderHead); // a power loss before the head's lazy sync
    const lines = readJournalLines(dir);
    assert.equal((JSON.parse(lines[5]!) as AuditRecord).sig, null);
    writeJournalLines(dir, lines.slice(0, 6)); // the commit's signed line never reached the disk

    const before = await verifyLedger(dir, dataDirPublicKey(dir));
    assert.equal(before.ok, false);
    assert.match(before.problem?.message ?? '', /record seq 6 .*not covered by any signature/);
    assert.deepEqual((await collect(dataDirRecords(dir, {}, null))).map((r) => r.seq), [1, 2, 3, 4, 5], 'export leaves out what no signature covers');
    const reopened = await Ledger.open(dir);
    assert.equal(reopened.head.seq, 5);
    assert.match(reopened.recovered?.problem ?? '', /cut off 1 line after the last signed commit \(seq 5; the signed head named seq 4\).*record seq 6/);
    assert.equal((await reopened.append(decision(8)).durable).seq, 6);
    await reopened.close();
    assert.equal((await verifyLedger(dir, dataDirPublicKey(dir))).ok, true);
  });

  it('cuts a torn line after the last signed commit, across a segment roll the head never saw', async () => {
    const dir = await ledgerWith(2, { segmentBytes: 4096 }); // seq 1..4
    const headFile = ledgerPaths(dir).head;
    const olderHead = fs.readFileSync(headFile);
    const ledger = await Ledger.open(dir, { segmentBytes: 4096 });
    for (let i = 5; i <= 40; i++) await ledger.append(decision(i)).durable;
    await ledger.close();
    const segments = listSegments(ledgerPaths(dir).journal);
    assert.ok(segments.length > 2, 'the commits span segments');
    fs.writeFileSync(headFile, olderHead);
    fs.appendFileSync(segments[segments.length - 1]!.file, '{"id":"01J","seq":41,"time":"2026-'); // torn

    const reopened = await Ledger.open(dir, { segmentBytes: 4096 });
    assert.equal(reopened.head.seq, 40);
    assert.match(reopened.recovered?.problem ?? '', /cut off 1 line after the last signed commit \(seq 40.*incomplete line/);
    assert.equal((await collect(reopened.verifiedRecords())).length, 40);
    await reopened.close();
    assert.equal((await verifyLedger(dir, dataDirPublicKey(dir))).ok, true);
  });

  it('refuses to open when a record after the head was edited before a signed commit (an acknowledged record behind damage)', async () => {
    const dir = await ledgerWith(2); // seq 1..4
    const headFile = ledgerPaths(dir).head;
    const olderHead = fs.readFileSync(headFile);
    const ledger = await Ledger.open(dir);
    ledger.append(decision(5));
    await ledger.append(decision(6)).durable; // one commit: seq 5, 6 (signed)
    await ledger.close();
    fs.writeFileSync(headFile, olderHead);
    const lines = readJournalLines(dir);
    lines[4] = lines[4]!.replace('"status":200', '"status":201');
    writeJournalLines(dir, lines);
    await assert.rejects(Ledger.open(dir), (e: unknown) => LedgerError.is(e, 'corrupt') && /record seq 6 .*signed, acknowledged commit.*record seq 5 .*edited/.test(e.message));
  });

  it('refuses to open when signed records the head named were cut off the tail', async () => {
    const dir = await ledgerWith(3); // seq 1..6, the head names 6
    writeJournalLines(dir, readJournalLines(dir).slice(0, 4));
    await assert.rejects(Ledger.open(dir), (e: unknown) => LedgerError.is(e, 'corrupt') && /signed head names seq 6: acknowledged records are missing/.test(e.message));
  });

  it('refuses to open when a record of the segment it extends was edited, naming it and the command that inspects it', async () => {
    const dir = await ledgerWith(3);
    const lines = readJournalLines(dir);
    const edited = JSON.parse(lines[3]!) as AuditRecord; // seq 4, a settle
    lines[3] = lines[3]!.replace('"output_tokens":50', '"output_tokens":5');
    writeJournalLines(dir, lines);
    await assert.rejects(Ledger.open(dir), (e: unknown) => {
      assert.ok(LedgerError.is(e, 'corrupt'));
      assert.match(e.message, new RegExp(`first bad record seq 4 \\(id ${edited.id}\\) at .*seg-000000000001\\.jsonl:4: .*edited`));
      assert.match(e.message, /tollgate audit verify --data-dir /);
      return true;
    });
  });

  it('refuses to open when an edited record carries a recomputed hash (the next record no longer links to it)', async () => {
    const dir = await ledgerWith(3);
    const lines = readJournalLines(dir);
    const rec = JSON.parse(lines[3]!) as Record<string, unknown>;
    (rec.usage as { output_tokens: number }).output_tokens = 5;
    rec.hash = sha256Hex(recordBytes(rec));
    lines[3] = JSON.stringify(rec);
    writeJournalLines(dir, lines);
    await assert.rejects(Ledger.open(dir), (e: unknown) => LedgerError.is(e, 'corrupt') && /first bad record seq 5 .*does not link/.test(e.message));
  });

  it('reads what the proxy replays through the same checks, in every segment, up to the signed head', async () => {
    const dir = await ledgerWith(40, { segmentBytes: 4096 });
    const ledger = await Ledger.open(dir);
    assert.equal((await collect(ledger.verifiedRecords())).length, 80);
    assert.deepEqual((await collect(ledger.verifiedRecords(71))).map((r) => r.seq), [71, 72, 73, 74, 75, 76, 77, 78, 79, 80]);
    await ledger.close();

    // An edit in an early segment: open only checks the segment it extends, the replay sees it.
    rewriteAllSegments(dir, (lines) => lines.map((l) => (l.includes('"seq":4,') ? l.replace('"output_tokens":50', '"output_tokens":5') : l)));
    const again = await Ledger.open(dir);
    try {
      await assert.rejects(collect(again.verifiedRecords()), (e: unknown) => LedgerError.is(e, 'corrupt') && /first bad record seq 4 .*edited.*tollgate audit verify/.test(e.message));
    } finally {
      await again.close();
    }
  });
});
