import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PendingResumption, ResumeTarget, Suspension, SuspensionRegistry } from '../../engine/divergence/suspension';
import { resumes } from '../../engine/divergence/suspension';

export const SUSPENSIONS_FILE = 'suspensions.json';

interface State {
  format: 'tollgate-suspensions/1';
  suspended: Record<string, Suspension>;
  /** How many times each key has been resumed. */
  resumed: Record<string, number>;
  /** Lifted by the CLI while a proxy held the ledger: that proxy records them. */
  pending: PendingResumption[];
}

const empty = (): State => ({ format: 'tollgate-suspensions/1', suspended: {}, resumed: {}, pending: [] });

/** The suspensions file cannot be read: refused rather than taken as "nobody is suspended". */
export class SuspensionFileError extends Error {
  readonly reason = 'unreadable' as const;
  constructor(file: string, detail: string) {
    super(`${file} cannot be read as suspensions: ${detail}`);
    this.name = 'SuspensionFileError';
  }
  static is(err: unknown): err is SuspensionFileError {
    return err instanceof SuspensionFileError;
  }
}

function parse(file: string, text: string): State {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new SuspensionFileError(file, (err as Error).message);
  }
  const s = v as Partial<State> | null;
  if (!s || typeof s !== 'object' || s.format !== 'tollgate-suspensions/1' || typeof s.suspended !== 'object' || s.suspended === null) {
    throw new SuspensionFileError(file, 'not a tollgate-suspensions/1 document');
  }
  return { format: s.format, suspended: { ...s.suspended }, resumed: { ...(s.resumed ?? {}) }, pending: Array.isArray(s.pending) ? s.pending : [] };
}

/**
 * Suspensions in the data dir (`suspensions.json`, mode 0600), for a proxy on its own and for
 * `tollgate identity resume` beside it. The proxy keeps the file's content in memory and reads the
 * file again only when a call's identity is suspended in it (a resume may have lifted it since) or
 * when it looks for queued records, so an unsuspended call costs no I/O.
 */
export class FileSuspensionRegistry implements SuspensionRegistry {
  private state: State = empty();
  private seen = '';

  constructor(readonly file: string) {
    this.refresh();
  }

  static inDataDir(dataDir: string): FileSuspensionRegistry {
    return new FileSuspensionRegistry(path.join(dataDir, SUSPENSIONS_FILE));
  }

  /** Reads the file again when it changed (size, mtime or inode), and returns its content. */
  private refresh(): State {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.state = empty();
      this.seen = '';
      return this.state;
    }
    const mark = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    if (mark !== this.seen) {
      this.state = parse(this.file, fs.readFileSync(this.file, 'utf8'));
      this.seen = mark;
    }
    return this.state;
  }

  private write(state: State): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    fs.renameSync(tmp, this.file);
    this.state = state;
    const stat = fs.statSync(this.file);
    this.seen = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  }

  /** Reads, changes and writes the file, with what is on disk now rather than what was cached. */
  private update<T>(change: (s: State) => T): T {
    this.seen = '';
    const state = this.refresh();
    const out = change(state);
    this.write(state);
    return out;
  }

  find(keys: readonly string[]): Promise<Suspension | undefined> {
    if (!keys.some((k) => Object.hasOwn(this.state.suspended, k))) return Promise.resolve(undefined);
    const state = this.refresh();
    for (const k of keys) if (Object.hasOwn(state.suspended, k)) return Promise.resolve(state.suspended[k]);
    return Promise.resolve(undefined);
  }

  suspend(s: Suspension): Promise<boolean> {
    return Promise.resolve(
      this.update((state) => {
        if (Object.hasOwn(state.suspended, s.key)) return false;
        state.suspended[s.key] = s;
        return true;
      }),
    );
  }

  resume(target: ResumeTarget): Promise<Suspension[]> {
    return Promise.resolve(
      this.update((state) => {
        const lifted = Object.values(state.suspended).filter((s) => resumes(target, s));
        for (const s of lifted) {
          delete state.suspended[s.key];
          state.resumed[s.key] = (state.resumed[s.key] ?? 0) + 1;
        }
        return lifted;
      }),
    );
  }

  resumptions(key: string): Promise<number> {
    return Promise.resolve(this.refresh().resumed[key] ?? 0);
  }

  list(): Promise<Suspension[]> {
    return Promise.resolve(Object.values(this.refresh().suspended));
  }

  queueRecords(pending: readonly PendingResumption[]): Promise<void> {
    if (pending.length > 0) this.update((state) => state.pending.push(...pending));
    return Promise.resolve();
  }

  takeRecords(): Promise<PendingResumption[]> {
    if (this.refresh().pending.length === 0) return Promise.resolve([]);
    return Promise.resolve(
      this.update((state) => {
        const taken = state.pending;
        state.pending = [];
        return taken;
      }),
    );
  }
}
