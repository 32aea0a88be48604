import * as fs from 'node:fs';
import * as os from 'node:os';
import { LedgerError } from './errors';

interface LockOwner {
  pid: number;
  host: string;
}

function readOwner(file: string): LockOwner | null {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<LockOwner>;
    return typeof parsed.pid === 'number' ? { pid: parsed.pid, host: String(parsed.host ?? '') } : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/**
 * One process per data dir: two writers would fork the chain. The lock file holds the owner's
 * pid; a SIGKILLed proxy leaves it behind, so a lock whose pid is dead (on this host) is stale
 * and taken over. A lock held by this very process counts as held: a second open in-process is
 * refused too.
 */
export class DirLock {
  private constructor(private readonly file: string) {}

  static acquire(file: string): DirLock {
    const me = JSON.stringify({ pid: process.pid, host: os.hostname() });
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        fs.writeFileSync(file, me, { flag: 'wx', mode: 0o600 });
        return new DirLock(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = readOwner(file);
      if (owner && (owner.host !== os.hostname() || alive(owner.pid))) {
        throw new LedgerError('locked', `the ledger in ${file.replace(/[\\/][^\\/]+$/, '')} is in use by pid ${owner.pid}${owner.host !== os.hostname() ? ` on ${owner.host}` : ''}`);
      }
      // Stale (or unreadable half-written) lock: move it aside under a unique name and check we
      // moved the stale one, not a lock another starter created a moment ago.
      const aside = `${file}.stale.${process.pid}.${attempt}`;
      try {
        fs.renameSync(file, aside);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      const moved = readOwner(aside);
      if (moved && owner && moved.pid !== owner.pid && alive(moved.pid)) {
        fs.renameSync(aside, file); // a live lock: put it back and report it
        throw new LedgerError('locked', `the ledger is in use by pid ${moved.pid}`);
      }
      fs.rmSync(aside, { force: true });
    }
    throw new LedgerError('locked', `could not take the ledger lock ${file}`);
  }

  release(): void {
    const owner = readOwner(this.file);
    if (owner?.pid === process.pid) fs.rmSync(this.file, { force: true });
  }
}
