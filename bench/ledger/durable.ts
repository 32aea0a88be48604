// Durable records per second: group commit against one fsync per record, same run, same disk.
// Run: npx tsx bench/ledger/durable.ts [records] [concurrency]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Ledger } from '../../src/store/ledger/ledger';
import type { LedgerOptions } from '../../src/store/ledger/ledger';
import { decision } from '../../test/unit/ledger/fixtures';

async function measure(label: string, records: number, concurrency: number, options: LedgerOptions): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-bench-'));
  const ledger = await Ledger.open(dir, { index: false, ...options });
  let next = 0;
  const started = process.hrtime.bigint();
  // Each "client" waits for its record to be durable before sending the next, as the proxy does.
  const client = async (): Promise<void> => {
    while (next < records) await ledger.append(decision(next++)).durable;
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const { batches, fsyncs } = ledger.stats;
  await ledger.close();
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(`${label.padEnd(28)} ${String(Math.round(records / seconds)).padStart(8)} durable records/s  (${records} records, ${concurrency} concurrent, ${batches} journal writes, ${fsyncs} fsyncs incl. head, ${seconds.toFixed(2)} s)`);
}

async function main(): Promise<void> {
  const records = Number(process.argv[2] ?? 20_000);
  const concurrency = Number(process.argv[3] ?? 64);
  console.log(`node ${process.version}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, tmpdir ${os.tmpdir()}`);
  await measure('one fsync per record', Math.min(records, 2000), concurrency, { maxBatch: 1 });
  await measure('group commit', records, concurrency, {});
  await measure('group commit, 1 client', Math.min(records, 2000), 1, {});
}

void main();
