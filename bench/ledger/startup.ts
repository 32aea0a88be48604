// What the proxy's start costs on a large ledger: opening it (the segment it extends is checked up
// to the signed head) and reading everything it replays with and without the checks, against a
// full `audit verify` that also checks every signature.
// Run: node bench/run.js bench/ledger/startup.ts [records]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Ledger } from '../../src/store/ledger/ledger';
import { dataDirPublicKey } from '../../src/store/ledger/signer';
import { verifyLedger } from '../../src/store/ledger/verify';
import { decision, settle } from '../../test/unit/ledger/fixtures';

async function timed<T>(label: string, records: number, run: () => Promise<T>): Promise<T> {
  const t = performance.now();
  const out = await run();
  const s = (performance.now() - t) / 1000;
  console.log(`${label.padEnd(44)} ${s.toFixed(2).padStart(6)} s${records ? `  ${Math.round(records / s).toLocaleString('en').padStart(9)} records/s` : ''}`);
  return out;
}

async function count(records: AsyncIterable<unknown>): Promise<number> {
  const it = records[Symbol.asyncIterator]();
  let n = 0;
  while (!(await it.next()).done) n++;
  return n;
}

async function main(): Promise<void> {
  const records = Number(process.argv[2] ?? 200_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-bench-startup-'));
  console.log(`node ${process.version}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}`);
  const writer = await Ledger.open(dir, { index: false });
  for (let i = 0; i < records; i += 2) {
    const { record } = writer.append(decision(i));
    const { durable } = writer.append(settle(record.id));
    if (i % 20_000 === 0) await durable; // keep the queue bounded while writing
  }
  await writer.close();
  const journal = path.join(dir, 'ledger', 'journal');
  const segments = fs.readdirSync(journal).map((f) => fs.statSync(path.join(journal, f)).size);
  const lastMb = (segments.at(-1)! / 1e6).toFixed(0);
  console.log(`${records} records, ${(segments.reduce((a, b) => a + b, 0) / 1e6).toFixed(0)} MB journal in ${segments.length} segments (the last, which open checks: ${lastMb} MB)`);

  const ledger = await timed('open (checks the segment it extends)', 0, () => Ledger.open(dir, { index: false }));
  const plain = await timed('replay read, unchecked (records())', records, () => count(ledger.records()));
  const checked = await timed('replay read, checked (verifiedRecords())', records, () => count(ledger.verifiedRecords()));
  await ledger.close();
  const full = await timed('audit verify (every signature too)', records, () => verifyLedger(dir, dataDirPublicKey(dir)));
  if (plain !== records || checked !== records || full.records !== records) throw new Error('record counts differ');
  fs.rmSync(dir, { recursive: true, force: true });
}

void main();
