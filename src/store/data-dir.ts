import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Where a proxy keeps its keys, ledger and state: `--data-dir`, else TOLLGATE_DATA_DIR,
 * else ~/.tollgate. Created with mode 0700 because it holds signing keys.
 */
export function resolveDataDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const dir = flag ?? env.TOLLGATE_DATA_DIR ?? path.join(os.homedir(), '.tollgate');
  return path.resolve(dir);
}

export type DataDirErrorReason = 'exposed'; // a secret file other users can read

export class DataDirError extends Error {
  readonly reason: DataDirErrorReason;
  constructor(reason: DataDirErrorReason, message: string) {
    super(message);
    this.name = 'DataDirError';
    this.reason = reason;
  }
  static is(err: unknown, reason?: DataDirErrorReason): err is DataDirError {
    return err instanceof DataDirError && (reason === undefined || err.reason === reason);
  }
}

// Modes mean nothing to Windows ACLs; there the data dir's place in the profile protects it.
const checksModes = process.platform !== 'win32';

function modeText(mode: number): string {
  return (mode & 0o777).toString(8).padStart(4, '0');
}

/**
 * Refuses secret files that anyone but their owner may read or write: a key other users can read
 * lets them mint tokens, forge ledger records or call the admin API. Files this project creates
 * are 0600 already; this catches a copy, an unpack or a chmod that widened them. Files that do
 * not exist yet are fine (they are created 0600).
 */
export function assertPrivateFiles(files: readonly string[]): void {
  if (!checksModes) return;
  const exposed: { file: string; mode: number }[] = [];
  for (const file of files) {
    let mode: number;
    try {
      mode = fs.statSync(file).mode;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    if (mode & 0o077) exposed.push({ file, mode });
  }
  if (exposed.length === 0) return;
  const list = exposed.map((e) => `${e.file} (mode ${modeText(e.mode)})`).join(', ');
  const one = exposed.length === 1;
  throw new DataDirError(
    'exposed',
    `${one ? 'a secret file is' : 'secret files are'} open to other users: ${list}; make ${one ? 'it' : 'them'} private with: chmod 600 ${exposed.map((e) => e.file).join(' ')}`,
  );
}

/**
 * Warnings for directories other users may write: whoever can write the data dir can replace its
 * keys or ledger files. A warning, not a refusal: a shared group directory can be deliberate.
 */
export function writableDirWarnings(dirs: readonly string[]): string[] {
  if (!checksModes) return [];
  const warnings: string[] = [];
  for (const dir of dirs) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(dir);
    } catch {
      continue;
    }
    if (stat.mode & 0o022) warnings.push(`${dir} is writable by other users (mode ${modeText(stat.mode)}): they could replace its keys or ledger; run: chmod 700 ${dir}`);
  }
  return warnings;
}

export function ensureDataDir(dir: string): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/**
 * Reads a secret file, creating it on first use with mode 0600; refuses one other users can read. The exclusive create means two
 * processes starting together agree on one secret instead of overwriting each other's.
 */
export function readOrCreateSecret(dir: string, name: string, create: () => string): string {
  ensureDataDir(dir);
  const file = path.join(dir, name);
  assertPrivateFiles([file]);
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const content = create();
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(tmp, content, { mode: 0o600 });
  try {
    fs.linkSync(tmp, file); // fails with EEXIST if another process won the race
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    fs.unlinkSync(tmp);
  }
  return fs.readFileSync(file, 'utf8');
}
