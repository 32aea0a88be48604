// The editor's witness of its proxy's ledger (docs/product.md, "Witnesses"): the latest signed head
// the window saw, kept in the extension's global storage, out of reach of a rollback of the data
// dir. Before the proxy starts, the ledger must extend it; when it does not (the ledger was cut
// back, deleted, or an old copy restored), the person is warned, and the witness stays as the
// evidence, never overwritten by the rolled-back ledger's heads, until they accept the ledger as
// it now is. No vscode import: plain mocha drives it.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Witness } from '../../store/ledger/witness';
import { checkExtends, parseWitness, readCheckpoint } from '../../store/ledger/witness';

/** How often a running proxy's head is witnessed (and once more when it stops). */
export const WITNESS_EVERY_MS = 60_000;

export interface WitnessKeeperLog {
  info(message: string): void;
  warn(message: string): void;
}

export type WitnessCheck =
  /** Nothing witnessed yet for this data dir. */
  | { readonly state: 'none' }
  | { readonly state: 'extends'; readonly seq: number }
  | { readonly state: 'broken'; readonly message: string };

export class WitnessKeeper {
  /** Data dirs checked this session, and those whose ledger did not extend the stored witness. */
  private readonly checked = new Set<string>();
  private readonly broken = new Set<string>();

  constructor(
    /** The extension's global storage folder. */
    private readonly storageDir: string,
    private readonly log: WitnessKeeperLog,
  ) {}

  /** The file holding the witness for `dataDir`: one per data dir, shared by the windows that use it. */
  fileFor(dataDir: string): string {
    const name = createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16);
    return path.join(this.storageDir, 'witnesses', `${name}.json`);
  }

  /** Before the proxy starts: does the ledger extend what was witnessed? Logs, and warns through its result. */
  async check(dataDir: string): Promise<WitnessCheck> {
    const file = this.fileFor(dataDir);
    this.checked.add(dataDir);
    let witness: Witness | null;
    try {
      witness = this.stored(file);
    } catch (err) {
      return this.fail(dataDir, `the witness of the audit ledger in ${dataDir}, kept in ${file}, is unreadable (${(err as Error).message}); it may have been tampered with`);
    }
    if (!witness) {
      this.broken.delete(dataDir);
      return { state: 'none' };
    }
    let problem: string | null;
    try {
      const verdict = await checkExtends(dataDir, witness);
      problem = verdict.ok ? null : verdict.problem;
    } catch (err) {
      problem = (err as Error).message; // e.g. the signing key itself is gone
    }
    if (problem !== null) {
      const ledger = witness.ledger ? `, ledger ${witness.ledger}` : '';
      return this.fail(dataDir, `the audit ledger in ${dataDir} does not extend the head this editor witnessed (seq ${witness.seq}${ledger}, kept in ${file}): ${problem}`);
    }
    this.broken.delete(dataDir);
    this.log.info(`audit ledger in ${dataDir} extends the witnessed head (seq ${witness.seq})`);
    return { state: 'extends', seq: witness.seq };
  }

  /**
   * Witnesses the data dir's current signed head if it moved on from the stored one. Does nothing
   * while the ledger does not extend the stored witness: that witness is the evidence.
   */
  async record(dataDir: string): Promise<Witness | null> {
    if (!this.checked.has(dataDir)) await this.check(dataDir);
    if (this.broken.has(dataDir)) return null;
    const file = this.fileFor(dataDir);
    let current: Witness;
    try {
      current = readCheckpoint(dataDir);
    } catch {
      return null; // no ledger yet, or a head being written: the next round reads it
    }
    let stored: Witness | null;
    try {
      stored = this.stored(file);
    } catch {
      // An unreadable witness is replaced only by accept().
      return null;
    }
    // Another window on the same data dir may have witnessed a newer head already.
    if (stored && stored.ledger === current.ledger && stored.seq >= current.seq) return null;
    writePrivateFile(file, `${JSON.stringify(current, null, 2)}\n`);
    return current;
  }

  /** The person accepts the ledger as it is now: the old witness is kept aside, the current head becomes the witness. */
  async accept(dataDir: string): Promise<string | null> {
    const file = this.fileFor(dataDir);
    let aside: string | null = null;
    if (fs.existsSync(file)) {
      aside = file.replace(/\.json$/, `.replaced-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
      fs.renameSync(file, aside);
    }
    this.broken.delete(dataDir);
    this.checked.add(dataDir);
    await this.record(dataDir);
    this.log.warn(`the audit ledger in ${dataDir} was accepted as it is now${aside ? `; the previous witness is kept in ${aside}` : ''}`);
    return aside;
  }

  private stored(file: string): Witness | null {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return parseWitness(text, file);
  }

  private fail(dataDir: string, message: string): WitnessCheck {
    this.broken.add(dataDir);
    this.log.warn(message);
    return { state: 'broken', message };
  }
}

/** Written whole (temporary file and rename), private to the user. */
function writePrivateFile(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, file);
}
