import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Revocation } from '../engine/identity/revocation';
import { parseRevocation, revocationJson, RevocationSet } from '../engine/identity/revocation';
import { ensureDataDir } from './data-dir';
import { writePrivateFile } from './private-file';

// The data dir's revocation list (revocations.json): written by `tollgate token revoke`, read by
// every proxy on the data dir, which notices a change on the next request (one stat per request).

export const REVOCATIONS_FILE = 'revocations.json';

/** The list cannot be read: who it revokes is unknown, so it is never read as "nobody". */
export class RevocationListError extends Error {
  readonly reason = 'unreadable' as const;
  constructor(message: string) {
    super(message);
    this.name = 'RevocationListError';
  }
  static is(err: unknown): err is RevocationListError {
    return err instanceof RevocationListError;
  }
}

function parseList(text: string, file: string): Revocation[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new RevocationListError(`${file} is not JSON (${(err as Error).message})`);
  }
  const list = (doc as { version?: unknown; revocations?: unknown } | null)?.revocations;
  if ((doc as { version?: unknown } | null)?.version !== 1 || !Array.isArray(list)) throw new RevocationListError(`${file} is not a revocation list (version 1)`);
  return list.map((raw, i) => {
    try {
      return parseRevocation(raw);
    } catch (err) {
      throw new RevocationListError(`${file}: revocation ${i}: ${(err as Error).message}`);
    }
  });
}

/** The revocations in the data dir's list; none when there is no list. Throws RevocationListError when it cannot be read. */
export function readRevocations(dataDir: string): Revocation[] {
  const file = path.join(dataDir, REVOCATIONS_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new RevocationListError(`cannot read ${file}: ${(err as Error).message}`);
  }
  return parseList(text, file);
}

/**
 * Adds revocations to the data dir's list, dropping those whose tokens have all expired. A list
 * that cannot be read is not replaced: it may hold revocations nobody could restore.
 */
export function addRevocations(dataDir: string, added: readonly Revocation[], now: number): Revocation[] {
  const set = new RevocationSet(readRevocations(dataDir).filter((r) => r.expiresAt > now));
  const fresh = added.filter((r) => set.add(r));
  const doc = { version: 1, revocations: [...set.entries()].map(revocationJson) };
  writePrivateFile(path.join(ensureDataDir(dataDir), REVOCATIONS_FILE), `${JSON.stringify(doc, null, 2)}\n`);
  return fresh;
}

export type ListState =
  | { readonly ok: true; readonly set: RevocationSet }
  /** Unreadable since `since` (the file's change time): tokens issued up to then may be on it. */
  | { readonly ok: false; readonly problem: string; readonly since: number; readonly lastGood: RevocationSet };

/**
 * The list as a proxy follows it: a stat on each look (a few microseconds), a read only when the
 * file changed. A list that stops reading keeps its last good revocations in force and marks every
 * token issued before the bad write as possibly revoked.
 */
export class RevocationListWatch {
  private seen = '';
  private state: ListState = { ok: true, set: new RevocationSet([]) };
  private readonly file: string;

  constructor(
    private readonly dataDir: string,
    private readonly onChange: (state: ListState, added: readonly Revocation[]) => void = () => undefined,
  ) {
    this.file = path.join(dataDir, REVOCATIONS_FILE);
  }

  current(): ListState {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return this.fail(`cannot stat ${this.file}: ${(err as Error).message}`, Date.now(), 'stat');
    }
    const fingerprint = stat ? `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}` : 'none';
    if (fingerprint === this.seen) return this.state;
    this.seen = fingerprint;
    try {
      const set = new RevocationSet(readRevocations(this.dataDir));
      const before = new Set([...(this.state.ok ? this.state.set : this.state.lastGood).entries()].map((r) => r.id));
      const added = [...set.entries()].filter((r) => !before.has(r.id));
      this.state = { ok: true, set };
      this.onChange(this.state, added);
    } catch (err) {
      this.fail((err as Error).message, stat?.mtimeMs ?? Date.now(), fingerprint);
    }
    return this.state;
  }

  private fail(problem: string, since: number, fingerprint: string): ListState {
    this.seen = fingerprint;
    const lastGood = this.state.ok ? this.state.set : this.state.lastGood;
    this.state = { ok: false, problem, since: Math.max(since, this.state.ok ? 0 : this.state.since), lastGood };
    this.onChange(this.state, []);
    return this.state;
  }
}
