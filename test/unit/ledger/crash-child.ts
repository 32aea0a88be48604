// Run by crash.test.ts as a child process: appends records from many concurrent "requests" and
// prints each id once its record is durable, as the proxy sends it to a client, until killed.
import { Ledger } from '../../../src/store/ledger/ledger';
import { decision } from './fixtures';

async function main(): Promise<void> {
  const ledger = await Ledger.open(process.argv[2]);
  process.stdout.write('ready\n');
  let n = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const { record, durable } = ledger.append(decision(n++));
      await durable;
      process.stdout.write(`${record.id}\n`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

void main();
