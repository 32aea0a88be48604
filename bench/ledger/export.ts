// Export speed for a large ledger, and the memory it takes (bounded: streaming).
// Run: npx tsx bench/ledger/export.ts [records]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { dataDirRecords, exportRecords } from '../../src/store/ledger/export';
import { Ledger } from '../../src/store/ledger/ledger';
import { dataDirPublicKey } from '../../src/store/ledger/signer';
import { decision, settle } from '../../test/unit/ledger/fixtures';

function sink(): Writable & { bytes: number } {
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      w.bytes += chunk.length;
      cb();
    },
  }) as Writable & { bytes: number };
  w.bytes = 0;
  return w;
}

async function main(): Promise<void> {
  const records = Number(process.argv[2] ?? 1_000_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-bench-export-'));
  console.log(`node ${process.version}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}`);
  let t = Date.now();
  const ledger = await Ledger.open(dir, { index: false });
  for (let i = 0; i < records; i += 2) {
    const { record } = ledger.append(decision(i));
    const { durable } = ledger.append(settle(record.id));
    if (i % 20_000 === 0) await durable; // keep the queue bounded while writing
  }
  await ledger.close();
  const journalBytes = fs.readdirSync(path.join(dir, 'ledger', 'journal')).reduce((n, f) => n + fs.statSync(path.join(dir, 'ledger', 'journal', f)).size, 0);
  console.log(`wrote ${records} records (${(journalBytes / 1e6).toFixed(0)} MB journal) in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  const key = dataDirPublicKey(dir);
  for (const format of ['jsonl', 'csv'] as const) {
    let peak = 0;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    t = Date.now();
    const out = sink();
    const n = await exportRecords(dataDirRecords(dir, {}, key), format, out);
    const s = (Date.now() - t) / 1000;
    clearInterval(timer);
    console.log(`export ${format.padEnd(5)} ${n} records in ${s.toFixed(1)} s = ${Math.round(n / s)} records/s, ${(out.bytes / 1e6).toFixed(0)} MB out, peak RSS ${(peak / 1e6).toFixed(0)} MB`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

void main();
