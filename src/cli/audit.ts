import { parseArgs } from 'node:util';
import type { CliIo, CommandRunner } from './io';
import { UsageError } from './io';
import { resolveDataDir } from '../store/data-dir';
import { LedgerError } from '../store/ledger/errors';
import { dataDirRecords, exportRecords, mergeByTime } from '../store/ledger/export';
import type { ExportFormat } from '../store/ledger/export';
import { Ledger } from '../store/ledger/ledger';
import { normaliseTime } from '../store/ledger/reader';
import { dataDirPublicKey, publicKeyPem, readPublicKey } from '../store/ledger/signer';
import { describeProblem, verifyLedger } from '../store/ledger/verify';

const USAGE = `usage:
  tollgate audit verify [--data-dir DIR]... [--pubkey FILE]
  tollgate audit export --format jsonl|csv|traffic [--since T] [--until T] [--data-dir DIR]...
  tollgate audit pubkey [--data-dir DIR]
  tollgate audit prune --before T [--data-dir DIR]
T is an ISO 8601 date or time (2026-01-31, 2026-01-31T12:00:00Z) or an age (90d, 12h, 30m) before now.`;

/** An ISO time, or an age before now: `90d`, `12h`, `30m`, `45s`. */
export function parseTimeArg(value: string, flag: string, now: number = Date.now()): string {
  const age = /^(\d+)(d|h|m|s)$/.exec(value);
  if (age) {
    const unit = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 }[age[2] as 'd' | 'h' | 'm' | 's'];
    return new Date(now - Number(age[1]) * unit).toISOString();
  }
  try {
    return normaliseTime(value);
  } catch {
    throw new UsageError(`${flag}: '${value}' is not a time (use ISO 8601 like 2026-01-31T00:00:00Z, or an age like 90d)`);
  }
}

async function verify(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { 'data-dir': { type: 'string', multiple: true }, pubkey: { type: 'string' } }, strict: true });
  const dirs = values['data-dir']?.length ? values['data-dir'] : [undefined];
  let failed = false;
  for (const flag of dirs) {
    const dir = resolveDataDir(flag, io.env);
    const key = values.pubkey ? readPublicKey(values.pubkey) : dataDirPublicKey(dir);
    const r = await verifyLedger(dir, key);
    if (r.ok) {
      const range = r.records ? `seq ${r.firstSeq}..${r.lastSeq}` : 'empty';
      const extra = r.unacknowledged ? `; ${r.unacknowledged} unacknowledged line(s) after the head (a crash; cut off at the next start)` : '';
      io.stdout.write(`ok ${dir}: ${r.records} records (${range}), chain, signatures and signed head hold${extra}\n`);
    } else if (r.problem) {
      failed = true;
      io.stdout.write(`FAILED ${dir}: ${describeProblem(r.problem)}\n`);
    }
  }
  return failed ? 1 : 0;
}

async function exportCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { format: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, 'data-dir': { type: 'string', multiple: true } },
    strict: true,
  });
  const format = values.format;
  if (format !== 'jsonl' && format !== 'csv' && format !== 'traffic') throw new UsageError(`--format must be jsonl, csv or traffic${format ? `, not '${format}'` : ''}`);
  // Several data dirs (one per proxy in team mode) are merged by time into one export.
  const dirs = (values['data-dir']?.length ? values['data-dir'] : [undefined]).map((d) => resolveDataDir(d, io.env));
  const range = {
    since: values.since === undefined ? undefined : parseTimeArg(values.since, '--since'),
    until: values.until === undefined ? undefined : parseTimeArg(values.until, '--until'),
  };
  const sources = dirs.map((dir) => {
    let key = null;
    try {
      key = dataDirPublicKey(dir);
    } catch {
      // Export can run with only the journal at hand (e.g. a copy); verify is where the key matters.
    }
    return dataDirRecords(dir, range, key);
  });
  await exportRecords(mergeByTime(sources), format as ExportFormat, io.stdout);
  return 0;
}

function pubkey(argv: string[], io: CliIo): number {
  const { values } = parseArgs({ args: argv, options: { 'data-dir': { type: 'string' } }, strict: true });
  io.stdout.write(publicKeyPem(dataDirPublicKey(resolveDataDir(values['data-dir'], io.env))));
  return 0;
}

async function prune(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { before: { type: 'string' }, 'data-dir': { type: 'string' } }, strict: true });
  if (values.before === undefined) throw new UsageError('prune needs --before T');
  const before = parseTimeArg(values.before, '--before');
  const ledger = await Ledger.open(resolveDataDir(values['data-dir'], io.env), { index: true });
  try {
    const r = await ledger.prune(before);
    io.stdout.write(
      r.removed
        ? `pruned ${r.removed} record(s) through seq ${r.lastSeq} (before ${before}); checkpoint ${r.checkpoint} stands for them\n`
        : `nothing before ${before} to prune\n`,
    );
  } finally {
    await ledger.close();
  }
  return 0;
}

export const run: CommandRunner = async (argv, io) => {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case 'verify':
        return await verify(rest, io);
      case 'export':
        return await exportCommand(rest, io);
      case 'pubkey':
        return pubkey(rest, io);
      case 'prune':
        return await prune(rest, io);
      case undefined:
      case 'help':
      case '--help':
        io.stdout.write(`${USAGE}\n`);
        return sub ? 0 : 2;
      default:
        throw new UsageError(`unknown subcommand '${sub}'\n${USAGE}`);
    }
  } catch (err) {
    // parseArgs reports unknown or malformed flags with this code: a usage error (exit 2).
    if ((err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError((err as Error).message);
    // A ledger that cannot be trusted or read is a failed check, not a crash: say why, exit 1.
    if (LedgerError.is(err)) {
      io.stderr.write(`tollgate audit ${sub ?? ''}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
};
