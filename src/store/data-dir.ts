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

export function ensureDataDir(dir: string): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/**
 * Reads a secret file, creating it on first use with mode 0600. The exclusive create means two
 * processes starting together agree on one secret instead of overwriting each other's.
 */
export function readOrCreateSecret(dir: string, name: string, create: () => string): string {
  ensureDataDir(dir);
  const file = path.join(dir, name);
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
