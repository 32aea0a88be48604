// How long one record takes to become durable when nothing else is appended: the wait a decision
// adds to a call before its id can be sent. One record at a time, a millisecond apart.
// Run from the repository root: node bench/run.js bench/ledger/ack-latency.ts
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Ledger } from '../../src/store/ledger/ledger';
import type { LedgerOptions } from '../../src/store/ledger/ledger';
import { serveIndexThread } from '../../src/store/ledger/index-thread';
import { isLedgerIndexThread, isLedgerWorkerThread } from '../../src/store/ledger/worker-role';
import { serveLedgerThread } from '../../src/store/ledger/worker';
import { decision } from '../../test/unit/ledger/fixtures';

async function measure(label: string, options: LedgerOptions): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-bench-'));
  const ledger = await Ledger.open(dir, options);
  const lat: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const t = process.hrtime.bigint();
    await ledger.append(decision(i)).durable;
    lat.push(Number(process.hrtime.bigint() - t) / 1e6);
    await new Promise((r) => setTimeout(r, 1));
  }
  await ledger.close();
  lat.sort((a, b) => a - b);
  const q = (p: number): string => lat[Math.floor(lat.length * p)]!.toFixed(2);
  console.log(`${label.padEnd(24)} p50 ${q(0.5)} p90 ${q(0.9)} p99 ${q(0.99)} max ${lat[lat.length - 1]!.toFixed(2)} ms`);
}

async function main(): Promise<void> {
  await measure('worker, index', { worker: true });
  await measure('worker, no index', { worker: true, index: false });
  await measure('caller thread, index', {});
}
// Bundled, the ledger's thread and its index's thread run this same file.
if (isLedgerIndexThread()) void serveIndexThread();
else if (isLedgerWorkerThread()) void serveLedgerThread();
else void main();
