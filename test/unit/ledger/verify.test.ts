import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import { Ledger } from '../../../src/store/ledger/ledger';
import { ledgerPaths } from '../../../src/store/ledger/segments';
import { dataDirPublicKey, recordBytes, sha256Hex } from '../../../src/store/ledger/signer';
import { verifyLedger } from '../../../src/store/ledger/verify';
import type { VerifyResult } from '../../../src/store/ledger/verify';
import { decision, settle, steppingClock, tempDir } from './fixtures';
import { readJournalLines, writeJournalLines } from './tamper';

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

  it('names an edited record whose hash was recomputed (the signature no longer holds)', async () => {
    const lines = readJournalLines(dir);
    const rec = JSON.parse(lines[4]) as Record<string, unknown>;
    rec.model = 'gpt-4o';
    rec.hash = sha256Hex(recordBytes(rec));
    lines[4] = JSON.stringify(rec);
    writeJournalLines(dir, lines);
    const r = await check(dir);
    assert.equal(r.problem?.seq, 5);
    assert.match(r.problem?.message ?? '', /signature/);
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

  it('names an unreadable line', async () => {
    const lines = readJournalLines(dir);
    lines[2] = '{"seq": 3, garbage';
    writeJournalLines(dir, lines);
    const r = await check(dir);
    assert.equal(r.problem?.seq, 3);
    assert.match(r.problem?.message ?? '', /unreadable/);
  });
});
