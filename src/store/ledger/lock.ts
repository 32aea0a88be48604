import * as fs from 'node:fs';
import * as os from 'node:os';
import { LedgerError } from './errors';

interface LockOwner {
  pid: number;
  host: string;
  /** The boot the owner ran in, and when its process started in it (Linux; null elsewhere). */
  boot: string | null;
  start: string | null;
}

function readOwner(file: string): LockOwner | null {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<LockOwner>;
    if (typeof parsed.pid !== 'number') return null;
    return { pid: parsed.pid, host: String(parsed.host ?? ''), boot: parsed.boot ?? null, start: parsed.start ?? null };
  } catch {
    return null;
  }
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

function bootId(): string | null {
  return readText('/proc/sys/kernel/random/boot_id');
}

/** When the process started, in clock ticks since boot (field 22 of /proc/PID/stat), or null. */
function startTime(pid: number): string | null {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return null;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
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
 * Whether the lock's owner still runs. A pid alone is not enough: after a crash and a reboot, or
 * just a while, the same pid can belong to another process, and a lock that counted as held then
 * would keep the proxy from starting until someone deleted the file. So the lock also names the
 * boot and the process's start time, and a live pid with another start is not the owner. Where
 * /proc is missing, the pid is all there is to go on.
 */
function holds(owner: LockOwner): boolean {
  if (owner.host !== os.hostname()) return true; // another machine's process: nothing here can tell
  if (!alive(owner.pid)) return false;
  const boot = bootId();
  if (owner.boot && boot && owner.boot !== boot) return false;
  const start = owner.start ? startTime(owner.pid) : null;
  return !(owner.start && start && start !== owner.start);
}

/**
 * One process per data dir: two writers would fork the chain. The lock file names its owner; a
 * SIGKILLed proxy leaves it behind, so a lock whose owner no longer runs (on this host) is stale
 * and taken over. A lock held by this very process counts as held: a second open in-process is
 * refused too.
 */
export class DirLock {
  private constructor(private readonly file: string) {}

  static acquire(file: string): DirLock {
    const me = JSON.stringify({ pid: process.pid, host: os.hostname(), boot: bootId(), start: startTime(process.pid) } satisfies LockOwner);
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        fs.writeFileSync(file, me, { flag: 'wx', mode: 0o600 });
        return new DirLock(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = readOwner(file);
      if (owner && holds(owner)) {
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
      if (moved && owner && (moved.pid !== owner.pid || moved.start !== owner.start) && holds(moved)) {
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
