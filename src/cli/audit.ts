import type { KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import type { CliIo, CommandRunner } from './io';
import { UsageError } from './io';
import { parseDuration } from '../engine/units';
import { resolveDataDir } from '../store/data-dir';
import { LedgerError } from '../store/ledger/errors';
import { dataDirRecords, exportRecords, mergeByTime } from '../store/ledger/export';
import type { ExportFormat } from '../store/ledger/export';
import { Ledger } from '../store/ledger/ledger';
import { normaliseTime } from '../store/ledger/reader';
import { dataDirPublicKey, keyFingerprint, publicKeyPem, readPublicKey } from '../store/ledger/signer';
import { describeProblem, verifyLedger } from '../store/ledger/verify';
import type { VerifyResult } from '../store/ledger/verify';
import { judgeWitness, parseWitness, readCheckpoint } from '../store/ledger/witness';

const USAGE = `usage:
  tollgate audit verify [--data-dir DIR]... [--pubkey FILE] [--witness FILE]...
  tollgate audit checkpoint [--data-dir DIR]
  tollgate audit export --format jsonl|csv|traffic [--since T] [--until T] [--data-dir DIR]...
  tollgate audit pubkey [--data-dir DIR]
  tollgate audit prune --before T [--data-dir DIR]
T is an ISO 8601 date or time (2026-01-31, 2026-01-31T12:00:00Z) or an age (90d, 12h, 30m) before now.
checkpoint prints the signed head as a witness; keep it outside the data dir. verify --witness fails
when a ledger does not extend a witness (a cut tail, a zeroed head, a deleted, replaced or restored ledger).`;

/** An ISO time, or an age before now: `90d`, `12h`, `30m`, `45s`. */
export function parseTimeArg(value: string, flag: string, now: number = Date.now()): string {
  const age = parseDuration(value);
  if (age !== undefined) return new Date(now - age).toISOString();
  try {
    return normaliseTime(value);
  } catch {
    throw new UsageError(`${flag}: '${value}' is not a time (use ISO 8601 like 2026-01-31T00:00:00Z, or an age like 90d)`);
  }
}

async function verify(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { 'data-dir': { type: 'string', multiple: true }, pubkey: { type: 'string' }, witness: { type: 'string', multiple: true } },
    strict: true,
  });
  const dirs = values['data-dir']?.length ? values['data-dir'] : [undefined];
  const witnesses = (values.witness ?? []).map((file) => ({ file, witness: parseWitness(readWitnessFile(file), file) }));
  const checked: { dir: string; result: VerifyResult; keyId: string }[] = [];
  let failed = false;
  for (const flag of dirs) {
    const dir = resolveDataDir(flag, io.env);
    let key: KeyObject;
    try {
      key = values.pubkey ? readPublicKey(values.pubkey) : dataDirPublicKey(dir);
    } catch (err) {
      // With witnesses to judge, a data dir whose key is gone is a failed check of its own, not the end of the run.
      if (!LedgerError.is(err, 'key') || witnesses.length === 0) throw err;
      failed = true;
      io.stdout.write(`FAILED ${dir}: ${err.message}\n`);
      continue;
    }
    const r = await verifyLedger(dir, key, { witnessSeqs: witnesses.map((w) => w.witness.seq) });
    checked.push({ dir, result: r, keyId: keyFingerprint(key) });
    if (r.ok) {
      const range = r.records ? `seq ${r.firstSeq}..${r.lastSeq}` : 'empty';
      const extra = r.unacknowledged ? `; ${r.unacknowledged} torn line(s) after the last signed commit, never acknowledged (a crash; cut off at the next start)` : '';
      io.stdout.write(`ok ${dir}: ${r.records} records (${range}), chain, signatures and signed head hold${extra}\n`);
    } else if (r.problem) {
      failed = true;
      io.stdout.write(`FAILED ${dir}: ${describeProblem(r.problem)}\n`);
    }
  }
  // Each witness is judged against the data dir holding its ledger; with one data dir, against it.
  for (const { file, witness } of witnesses) {
    const target = checked.find((c) => c.result.ledger !== null && c.result.ledger === witness.ledger) ?? (dirs.length === 1 ? checked[0] : undefined);
    const label = `witness ${file} (seq ${witness.seq}${witness.ledger ? `, ledger ${witness.ledger}` : ''})`;
    if (!target) {
      failed = true;
      io.stdout.write(`FAILED ${label}: ${dirs.length === 1 ? 'the data dir has no readable ledger key' : 'none of the data dirs holds its ledger'}: it was deleted and created afresh, or replaced\n`);
      continue;
    }
    if (!target.result.ok) {
      failed = true;
      io.stdout.write(`FAILED ${target.dir}: ${label} not judged: the ledger itself does not verify\n`);
      continue;
    }
    const r = target.result;
    const verdict = judgeWitness(witness, { keyId: target.keyId, ledger: r.ledger, headSeq: r.head?.seq ?? 0, hashAt: r.hashAt });
    if (verdict.ok) {
      io.stdout.write(`ok ${target.dir}: extends ${label}${verdict.note ? `; ${verdict.note}` : ''}\n`);
    } else {
      failed = true;
      io.stdout.write(`FAILED ${target.dir}: does not extend ${label}: ${verdict.problem}\n`);
    }
  }
  return failed ? 1 : 0;
}

function readWitnessFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new LedgerError('invalid', `cannot read the witness ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Prints the signed head as a witness, to be kept where a rollback of the data dir cannot reach. */
function checkpoint(argv: string[], io: CliIo): number {
  const { values } = parseArgs({ args: argv, options: { 'data-dir': { type: 'string' } }, strict: true });
  io.stdout.write(`${JSON.stringify(readCheckpoint(resolveDataDir(values['data-dir'], io.env)), null, 2)}\n`);
  return 0;
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
      case 'checkpoint':
        return checkpoint(rest, io);
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
