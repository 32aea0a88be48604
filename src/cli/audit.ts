import type { KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import type { CliIo, CommandRunner } from './io';
import { UsageError } from './io';
import type { CommandGroup } from './args';
import { commandHelp, commandSpec, groupHelp, parseCommandArgs } from './args';
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
import { counted } from '../contracts/wording';

const DATA_DIR = { type: 'string', value: 'DIR', description: 'the data dir holding the ledger (default: $TOLLGATE_DATA_DIR, else ~/.tollgate)' } as const;
const TIME_NOTE = 'T is an ISO 8601 date or time (2026-01-31, 2026-01-31T12:00:00Z) or an age (90d, 12h, 30m) before now.';

export const verifySpec = commandSpec({
  name: 'audit verify',
  summary: 'Check the chain, the signatures and the signed head of each ledger, and that each ledger extends its witnesses. Exit 0 when all hold, 1 naming the first bad record.',
  options: {
    'data-dir': { ...DATA_DIR, multiple: true, description: 'a data dir to verify (repeat for several; default: $TOLLGATE_DATA_DIR, else ~/.tollgate)' },
    pubkey: { type: 'string', value: 'FILE', description: "verify with this public key (PEM) instead of the data dir's own" },
    witness: { type: 'string', multiple: true, value: 'FILE', description: 'a checkpoint kept elsewhere: fails on a cut tail, a zeroed head, a deleted, replaced or restored ledger' },
  },
  examples: ['tollgate audit verify --witness ~/tollgate-witness.json'],
});

export const checkpointSpec = commandSpec({
  name: 'audit checkpoint',
  summary: 'Print the signed head as a witness, to keep where a rollback of the data dir cannot reach.',
  options: { 'data-dir': DATA_DIR },
  examples: ['tollgate audit checkpoint > ~/tollgate-witness.json'],
});

export const exportSpec = commandSpec({
  name: 'audit export',
  summary: 'Print the records, oldest first: one JSON object a line, CSV with the same fields flattened, or traffic for simulate.',
  notes: [TIME_NOTE],
  options: {
    format: { type: 'string', required: true, value: 'jsonl|csv|traffic', description: 'output format' },
    since: { type: 'string', value: 'T', description: 'only records at or after T' },
    until: { type: 'string', value: 'T', description: 'only records before T' },
    'data-dir': { ...DATA_DIR, multiple: true, description: 'a data dir to export (repeat to merge several by time; default: $TOLLGATE_DATA_DIR, else ~/.tollgate)' },
  },
  examples: ['tollgate audit export --format csv --since 30d > spend.csv'],
});

export const pubkeySpec = commandSpec({
  name: 'audit pubkey',
  summary: "Print the ledger's public key (PEM), for verify --pubkey elsewhere.",
  options: { 'data-dir': DATA_DIR },
  examples: ['tollgate audit pubkey > ledger.pub.pem'],
});

export const pruneSpec = commandSpec({
  name: 'audit prune',
  summary: 'Remove records before T; a signed checkpoint stands for them, so the rest still verifies.',
  notes: [TIME_NOTE],
  options: {
    before: { type: 'string', required: true, value: 'T', description: 'remove records before this time' },
    'data-dir': DATA_DIR,
  },
  examples: ['tollgate audit prune --before 365d'],
});

export const auditGroup: CommandGroup = {
  name: 'audit',
  summary: 'Verify, checkpoint, export and prune the signed audit ledger.',
  commands: [verifySpec, checkpointSpec, exportSpec, pubkeySpec, pruneSpec],
  examples: ['tollgate audit verify', 'tollgate audit export --format jsonl --since 7d'],
};

const USAGE = `usage:\n${auditGroup.commands.map((c) => `  ${commandHelp(c).split('\n')[0]!.replace(/^usage: /, '')}`).join('\n')}\n${TIME_NOTE}`;

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
  const { values } = parseCommandArgs(argv, verifySpec);
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
      const extra = r.unacknowledged ? `; ${counted(r.unacknowledged, 'torn line')} after the last signed commit, never acknowledged (a crash; cut off at the next start)` : '';
      io.stdout.write(`ok ${dir}: ${counted(r.records, 'record')} (${range}), chain, signatures and signed head hold${extra}\n`);
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
  const { values } = parseCommandArgs(argv, checkpointSpec);
  io.stdout.write(`${JSON.stringify(readCheckpoint(resolveDataDir(values['data-dir'], io.env)), null, 2)}\n`);
  return 0;
}

async function exportCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, exportSpec);
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
  const { values } = parseCommandArgs(argv, pubkeySpec);
  io.stdout.write(publicKeyPem(dataDirPublicKey(resolveDataDir(values['data-dir'], io.env))));
  return 0;
}

async function prune(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, pruneSpec);
  if (values.before === undefined) throw new UsageError('prune needs --before T');
  const before = parseTimeArg(values.before, '--before');
  const ledger = await Ledger.open(resolveDataDir(values['data-dir'], io.env), { index: true });
  try {
    const r = await ledger.prune(before);
    io.stdout.write(
      r.removed
        ? `pruned ${counted(r.removed, 'record')} through seq ${r.lastSeq} (before ${before}); checkpoint ${r.checkpoint} stands for them\n`
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
        io.stdout.write(`${USAGE}\n`);
        return 2;
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(groupHelp(auditGroup));
        return 0;
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
