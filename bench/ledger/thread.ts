// CPU per record on the ledger's worker thread and on the thread that appends, at a fixed
// offered rate of decision + settle pairs, as the proxy appends them.
// Run from the repository root: node bench/run.js bench/ledger/thread.ts [records/s] [seconds]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Ledger } from '../../src/store/ledger/ledger';
import type { LedgerOptions } from '../../src/store/ledger/ledger';
import { serveIndexThread } from '../../src/store/ledger/index-thread';
import { isLedgerIndexThread, isLedgerWorkerThread } from '../../src/store/ledger/worker-role';
import { serveLedgerThread } from '../../src/store/ledger/worker';
import { decision, settle } from '../../test/unit/ledger/fixtures';
import { threadCpuMs } from '../proc-cpu';

async function measure(label: string, rate: number, seconds: number, options: LedgerOptions): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-bench-'));
  const ledger = await Ledger.open(dir, options);
  const before = threadCpuMs();
  let records = 0;
  const pending: Promise<unknown>[] = [];
  const end = Date.now() + seconds * 1000;
  // Every millisecond, append the pairs due by then.
  while (Date.now() < end) {
    const due = Math.floor(((Date.now() - (end - seconds * 1000)) / 1000) * rate);
    while (records < due) {
      const d = ledger.append(decision(records));
      pending.push(d.durable);
      pending.push(ledger.append(settle(d.record.id)).durable);
      records += 2;
    }
    await new Promise((r) => setTimeout(r, 1));
    if (pending.length > 10_000) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  const after = threadCpuMs();
  const self = process.pid;
  let main = 0;
  let rest = 0;
  for (const [tid, ms] of after) {
    const d = ms - (before.get(tid) ?? 0);
    if (tid === self) main += d;
    else rest += d;
  }
  const { batches, fsyncs } = ledger.stats;
  await ledger.close();
  fs.rmSync(dir, { recursive: true, force: true });
  const per = (ms: number): string => `${Math.round((ms * 1000) / records)} µs`;
  console.log(`${label.padEnd(34)} ${records} records: appending thread ${per(main)}/record, other threads ${per(rest)}/record; ${batches} writes, ${fsyncs} fsyncs`);
}

async function main(): Promise<void> {
  const rate = Number(process.argv[2] ?? 3000);
  const seconds = Number(process.argv[3] ?? 5);
  console.log(`node ${process.version}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}; ${rate} records/s offered`);
  await measure('on the calling thread, with index', rate, seconds, {});
  await measure('worker thread, with index', rate, seconds, { worker: true });
  await measure('worker thread, no index', rate, seconds, { worker: true, index: false });
}

// Bundled, the ledger's thread and its index's thread run this same file.
if (isLedgerIndexThread()) void serveIndexThread();
else if (isLedgerWorkerThread()) void serveLedgerThread();
else void main();
