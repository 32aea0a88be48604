import * as os from 'node:os';
import { LedgerError } from '../store/ledger/errors';
import { dataDirPublicKey } from '../store/ledger/signer';
import type { Witness, WitnessStore } from '../store/ledger/witness';
import { checkExtends, readCheckpoint } from '../store/ledger/witness';
import type { Logger } from './log';

/*
 * Team mode's witness: the proxy's latest signed head, kept in the shared store. At start the
 * ledger must extend the one kept (else the proxy refuses to start: its data dir was rolled back,
 * or its ledger deleted and created afresh); while it runs, and when it stops, the head it has
 * reached is kept there again.
 */

export const TEAM_WITNESS_EVERY_MS = 5_000;

/** The proxy's ledger as the store knows it: this host and this data dir. */
export function witnessPlace(dataDir: string): string {
  return `${os.hostname()}:${dataDir}`;
}

export class TeamWitness {
  private timer: NodeJS.Timeout | null = null;
  private keptSeq = -1;
  private lastError = '';
  private readonly place: string;

  constructor(
    private readonly store: WitnessStore,
    private readonly dataDir: string,
    private readonly log: Logger,
  ) {
    this.place = witnessPlace(dataDir);
  }

  /**
   * Null when the ledger extends the witness kept for it (or none is kept yet); else why not, as a
   * message that says what to do. A store that cannot be read is logged, not fatal: the store's
   * own outage rule decides whether calls are served.
   */
  async check(): Promise<string | null> {
    let kept: Witness | null;
    try {
      kept = await this.store.latest(this.place);
    } catch (err) {
      // Something that is not a witness where the witness belongs is tampering, not an outage.
      if (LedgerError.is(err, 'invalid')) return `${(err as Error).message}. If the ledger was replaced on purpose, delete that key and start again.`;
      this.log.warn(`team witness: cannot read ${this.store.describe(this.place)} (${(err as Error).message}); the ledger is not checked against it this time`);
      return null;
    }
    if (!kept) return null;
    const verdict = await checkExtends(this.dataDir, kept, dataDirPublicKey(this.dataDir));
    if (verdict.ok) {
      this.keptSeq = kept.seq;
      this.log.info(`ledger extends the team witness (seq ${kept.seq}) in ${this.store.describe(this.place)}`);
      return null;
    }
    return (
      `the ledger in ${this.dataDir} does not extend the witness team mode keeps for it in ${this.store.describe(this.place)} ` +
      `(seq ${kept.seq}${kept.ledger ? `, ledger ${kept.ledger}` : ''}): ${verdict.problem}. ` +
      `If the ledger was replaced on purpose, delete that key and start again.`
    );
  }

  start(): void {
    void this.keep();
    this.timer = setInterval(() => void this.keep(), TEAM_WITNESS_EVERY_MS);
    this.timer.unref();
  }

  /** Keeps the signed head in the store if it moved on since the last time. */
  async keep(): Promise<void> {
    try {
      const w = readCheckpoint(this.dataDir);
      if (w.seq <= this.keptSeq) return;
      await this.store.keep(this.place, w);
      this.keptSeq = w.seq;
      this.lastError = '';
    } catch (err) {
      // Logged once per distinct cause; the next round tries again.
      const message = (err as Error).message;
      if (message !== this.lastError) this.log.warn(`team witness: cannot keep the signed head in ${this.store.describe(this.place)}: ${message}`);
      this.lastError = message;
    }
  }

  /** After the ledger closed: keep the final head. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.keep();
  }
}
