import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import type { AuditRecord } from '../../../src/contracts/audit-records';
import { Ledger } from '../../../src/store/ledger/ledger';
import { ledgerPaths } from '../../../src/store/ledger/segments';
import { dataDirPublicKey, recordBytes, sha256Hex, Signer } from '../../../src/store/ledger/signer';
import { verifyLedger } from '../../../src/store/ledger/verify';
import type { VerifyResult } from '../../../src/store/ledger/verify';
import { decision, settle, steppingClock, tempDir } from './fixtures';
import { readJournalLines, signEveryRecord, writeJournalLines } from './tamper';

async function ledgerWith(n: number): Promise<string> {
  const dir = tempDir();
  const ledger = await Ledger.open(dir, { clock: steppingClock() });
  for (let i = 1; i <= n; i++) {
    const { record } = ledger.append(decision(i));
    if (i % 4 === 0) ledger.append(settle(record.id));
  }
  await ledger.close();
  return dir;
}

async function check(dir: string): Promise<VerifyResult> {
  return verifyLedger(dir, dataDirPublicKey(dir));
}

describe('ledger verify', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await ledgerWith(8); // 10 records: 8 decisions and 2 settles
  });

  it('passes an untouched ledger', async () => {
    const r = await check(dir);
    assert.equal(r.ok, true, r.problem?.message);
    assert.equal(r.records, 10);
    assert.deepEqual(r.head?.seq, 10);
  });

  it('names an edited record', async () => {
    const lines = readJournalLines(dir);
    lines[4] = lines[4].replace('"status":200', '"status":201');
    writeJournalLines(dir, lines);
    const r = await check(dir);
    assert.equal(r.ok, false);
    assert.equal(r.problem?.seq, 5);
    assert.match(r.problem?.message ?? '', /edited/);
  });

  it('names an edited record whose hash was recomputed (the signature no longer holds, or the next record no longer links)', async () => {
    const edit = (at: number): void => {
      const lines = readJournalLines(dir);
      const rec = JSON.parse(lines[at]) as Record<string, unknown>;
      rec.model = 'gpt-4o';
      rec.hash = sha256Hex(recordBytes(rec));
      lines[at] = JSON.stringify(rec);
      writeJournalLines(dir, lines);
    };
    // The ten records went out in one commit: only the last, seq 10, carries a signature.
    const signedAt = readJournalLines(dir).findIndex((l) => (JSON.parse(l) as AuditRecord).sig !== null);
    assert.equal(signedAt, 9);
    const original = readJournalLines(dir);
    edit(signedAt);
    let r = await check(dir);
    assert.equal(r.problem?.seq, 10);
    assert.match(r.problem?.message ?? '', /signature/);
    writeJournalLines(dir, original);
    edit(4);
    r = await check(dir);
    assert.equal(r.problem?.seq, 6);
    assert.match(r.problem?.message ?? '', /does not link/);
  });

  it('names the record after a deleted one', async () => {
    const lines = readJournalLines(dir);
    lines.splice(4, 1);
    writeJournalLines(dir, lines);
    const r = await check(dir);
    assert.equal(r.problem?.seq, 6);
    assert.match(r.problem?.message ?? '', /record 5 is missing/);
  });

  it('names an inserted (duplicated) record', async () => {
    const lines = readJournalLines(dir);
    lines.splice(6, 0, lines[2]);
    writeJournalLines(dir, lines);
    const r = await check(dir);
    assert.equal(r.problem?.seq, 3);
    assert.match(r.problem?.message ?? '', /out of place/);
  });

  it('names reordered records', async () => {
    const lines = readJournalLines(dir);
    [lines[4], lines[5]] = [lines[5], lines[4]];
    writeJournalLines(dir, lines);
    const r = await check(dir);
    assert.equal(r.problem?.seq, 6);
  });

  it('sees records cut off the tail through the signed head', async () => {
    writeJournalLines(dir, readJournalLines(dir).slice(0, 7));
    const r = await check(dir);
    assert.equal(r.ok, false);
    assert.equal(r.problem?.seq, 8);
    assert.match(r.problem?.message ?? '', /records 8\.\.10 were cut off/);
  });

  it('fails when the signed head is deleted or altered', async () => {
    const headFile = ledgerPaths(dir).head;
    const head = fs.readFileSync(headFile);
    fs.writeFileSync(headFile, head.toString('utf8').replace('"seq":10', '"seq":11'));
    assert.match((await check(dir)).problem?.message ?? '', /head was altered/);
    fs.rmSync(headFile);
    assert.match((await check(dir)).problem?.message ?? '', /head is missing/);
  });

  it('fails when records are removed from the front without a checkpoint', async () => {
    writeJournalLines(dir, readJournalLines(dir).slice(3));
    const r = await check(dir);
    assert.equal(r.problem?.seq, 4);
    assert.match(r.problem?.message ?? '', /no signed checkpoint/);
  });

  it('fails against another public key (a forged ledger)', async () => {
    const other = generateKeyPairSync('ed25519').publicKey;
    const r = await verifyLedger(dir, other);
    assert.equal(r.ok, false);
  });

  it('signs once per group commit: only the last record of each commit carries sig, the same the head carries', async () => {
    const records = readJournalLines(dir).map((l) => JSON.parse(l) as AuditRecord);
    assert.deepEqual(records.map((r) => typeof r.sig), [...Array<string>(9).fill('object'), 'string']);
    const head = JSON.parse(fs.readFileSync(ledgerPaths(dir).head, 'utf8').slice(0, 512)) as { seq: number; sig: string };
    assert.equal(head.seq, 10);
    assert.equal(head.sig, records[9]!.sig);
  });

  it('verifies a ledger written when every record was signed, and the same ledger carried on signing per commit', async () => {
    signEveryRecord(dir, Signer.loadOrCreate(dir));
    let r = await check(dir);
    assert.equal(r.ok, true, r.problem?.message);
    const ledger = await Ledger.open(dir, { clock: steppingClock(Date.parse('2026-02-01T00:00:00Z')) });
    ledger.append(decision(20));
    await ledger.append(decision(21)).durable;
    await ledger.close();
    r = await check(dir);
    assert.equal(r.ok, true, r.problem?.message);
    assert.equal(r.records, 12);
  });

  it('names the first record no signature covers: records appended after the last signed one', async () => {
    const lines = readJournalLines(dir);
    const last = JSON.parse(lines[lines.length - 1]!) as AuditRecord;
    const appended: Record<string, unknown> = { id: '7ZZZZZZZZZZZZZZZZZZZZZZZZZ', seq: 11, time: last.time, ...settle(last.id, 0), prev: last.hash };
    appended.hash = sha256Hex(recordBytes(appended));
    appended.sig = null;
    writeJournalLines(dir, [...lines, JSON.stringify(appended)]);
    let r = await check(dir);
    assert.equal(r.ok, false);
    assert.equal(r.problem?.seq, 11);
    assert.match(r.problem?.message ?? '', /record seq 11 .*not covered by any signature/);
    // Signed with another record's signature: forged.
    appended.sig = last.sig;
    writeJournalLines(dir, [...lines, JSON.stringify(appended)]);
    r = await check(dir);
    assert.equal(r.problem?.seq, 11);
    assert.match(r.problem?.message ?? '', /invalid signature/);
  });

  it('names an unreadable line', async () => {
    const lines = readJournalLines(dir);
    lines[2] = '{"seq": 3, garbage';
    writeJournalLines(dir, lines);
    const r = await check(dir);
    assert.equal(r.problem?.seq, 3);
    assert.match(r.problem?.message ?? '', /unreadable/);
  });
});
