import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Ledger } from '../../../src/store/ledger/ledger';
import type { AuditRecord } from '../../../src/contracts/audit-records';
import { dataDirPublicKey } from '../../../src/store/ledger/signer';
import { verifyLedger } from '../../../src/store/ledger/verify';
import { runTollgate } from '../../helpers/cli';
import { decision, settle, steppingClock, tempDir } from './fixtures';
import { readJournalLines, writeJournalLines } from './tamper';

describe('ledger after SIGKILL', () => {
  it('keeps every id a client was given, and verifies, after a kill mid-load', async function () {
    this.timeout(60_000);
    const dir = tempDir();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'crash-child.ts'), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acknowledged: string[] = [];
    let buffered = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (c: Buffer) => {
        buffered += c.toString('utf8');
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const l of lines) if (l !== 'ready') acknowledged.push(l);
        if (acknowledged.length >= 2000) resolve();
      });
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const ledger = await Ledger.open(dir); // takes over the dead process's lock, cuts a torn tail
    const ids = new Set<string>();
    for await (const r of ledger.records()) ids.add(r.id);
    await ledger.append(decision(0)).durable;
    await ledger.close();
    const missing = acknowledged.filter((id) => !ids.has(id));
    assert.deepEqual(missing, [], `${missing.length} acknowledged ids are missing`);
    const v = await verifyLedger(dir, dataDirPublicKey(dir));
    assert.equal(v.ok, true, v.problem?.message);
  });
});

describe('tollgate audit', () => {
  let dir: string;
  beforeEach(async () => {
    dir = tempDir();
    const ledger = await Ledger.open(dir, { clock: steppingClock(Date.parse('2026-01-01T00:00:00Z'), 3_600_000) });
    for (let i = 0; i < 6; i++) {
      const { record } = ledger.append(decision(i));
      ledger.append(settle(record.id));
    }
    await ledger.close();
  });

  it('verify exits 0 when the chain holds', async () => {
    const r = await runTollgate(['audit', 'verify', '--data-dir', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ok .*: 12 records \(seq 1\.\.12\)/);
  });

  it('verify exits 1 naming the first bad record', async () => {
    const lines = readJournalLines(dir);
    lines[6] = lines[6].replace('"status":200', '"status":201');
    writeJournalLines(dir, lines);
    const r = await runTollgate(['audit', 'verify', '--data-dir', dir]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAILED .*first bad record seq 7 \(id [0-9A-Z]{26}\).*edited/);
  });

  it('verify checks several data dirs and takes the public key from --pubkey', async () => {
    const keyFile = path.join(tempDir(), 'ledger.pub');
    fs.writeFileSync(keyFile, (await runTollgate(['audit', 'pubkey', '--data-dir', dir])).stdout);
    assert.match(fs.readFileSync(keyFile, 'utf8'), /BEGIN PUBLIC KEY/);
    assert.equal((await runTollgate(['audit', 'verify', '--data-dir', dir, '--data-dir', dir, '--pubkey', keyFile])).code, 0);
    const other = tempDir();
    const l = await Ledger.open(other);
    await l.append(decision(1)).durable;
    await l.close();
    const r = await runTollgate(['audit', 'verify', '--data-dir', other, '--pubkey', keyFile]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAILED .*invalid signature/);
  });

  it('export prints jsonl and csv, filtered by --since/--until', async () => {
    const jsonl = await runTollgate(['audit', 'export', '--format', 'jsonl', '--data-dir', dir, '--since', '2026-01-01T02:00:00Z', '--until', '2026-01-01T04:00:00Z']);
    assert.equal(jsonl.code, 0, jsonl.stderr);
    const recs = jsonl.stdout.trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
    assert.deepEqual(recs.map((r) => r.seq), [3, 4]);
    const csv = await runTollgate(['audit', 'export', '--format', 'csv'], { env: { ...process.env, TOLLGATE_DATA_DIR: dir } });
    assert.equal(csv.stdout.trim().split('\r\n').length, 13);
    assert.ok(csv.stdout.startsWith('id,seq,time,kind,'));
  });

  it('prune keeps the ledger verifiable', async () => {
    const r = await runTollgate(['audit', 'prune', '--before', '2026-01-01T03:00:00Z', '--data-dir', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /pruned 3 records through seq 3/);
    assert.equal((await runTollgate(['audit', 'verify', '--data-dir', dir])).code, 0);
  });

  it('exits 2 on bad arguments and 1 when the ledger is in use', async () => {
    assert.equal((await runTollgate(['audit', 'export', '--format', 'xml', '--data-dir', dir])).code, 2);
    assert.equal((await runTollgate(['audit', 'export', '--format', 'csv', '--since', 'yesterday-ish', '--data-dir', dir])).code, 2);
    assert.equal((await runTollgate(['audit', 'prune', '--data-dir', dir])).code, 2);
    assert.equal((await runTollgate(['audit', 'frob'])).code, 2);
    const ledger = await Ledger.open(dir);
    const r = await runTollgate(['audit', 'prune', '--before', '1d', '--data-dir', dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /in use by pid/);
    await ledger.close();
  });
});
