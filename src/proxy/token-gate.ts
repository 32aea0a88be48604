import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RevocationView } from '../contracts/admin';
import type { RevocationBody } from '../contracts/audit-records';
import type { Identity } from '../engine/identity/identity';
import { IdentityError } from '../engine/identity/identity';
import type { Revocation } from '../engine/identity/revocation';
import { fieldsFor, revocationJson, revokes, RevocationFormatError, RevocationSet } from '../engine/identity/revocation';
import { writePrivateFile } from '../store/private-file';
import type { RedisRevocations } from '../store/redis/revocations';
import { RevocationListWatch } from '../store/revocation-list';
import type { ListState } from '../store/revocation-list';
import { TokenUseLog } from '../store/token-registry';

// What a proxy checks of a verified token beyond its signature: that no revocation names it (the
// data dir's list, and in team mode the team's in Redis), and it notes when the token was used.
// Each revocation is recorded in this proxy's ledger once, when the proxy first sees it.

/** Which revocations this data dir's ledger has recorded, so a restart does not record them again. */
export const RECORDED_REVOCATIONS_FILE = 'revocations-recorded.json';

export interface TokenGateOptions {
  readonly dataDir: string;
  /** Team mode: the revocations shared through Redis. */
  readonly team?: RedisRevocations;
  /** Appends a revocation record; false when the ledger took none (it is tried again later). */
  readonly record: (body: RevocationBody) => boolean;
  readonly log: { warn(message: string): void; error(message: string): void; info(message: string): void };
  readonly clock: () => number;
  /** How often revocations made elsewhere are recorded and the team's list is read whole, ms. */
  readonly syncMs?: number;
  /** Team mode: told of each use of an admitted token, for the team's token list. */
  readonly onUse?: (tokenId: string, at: number) => void;
  /** Hears each revocation as it comes into force here, so the editor can tell a person theirs at once. */
  readonly announce?: (r: Revocation) => void;
}

export class TokenGate {
  private readonly watch: RevocationListWatch;
  private readonly uses: TokenUseLog;
  private readonly recorded: Set<string>;
  /** Team revocations seen so far: what this proxy still knows while Redis is out of reach. */
  private readonly teamKnown = new RevocationSet([]);
  private timer?: NodeJS.Timeout;
  private teamProblem = '';
  private listProblem = '';
  /** Revocations from the data dir still being written to Redis: a call that saw them waits for it. */
  private sharing: Promise<unknown> | undefined;

  constructor(private readonly o: TokenGateOptions) {
    this.recorded = this.readRecorded();
    this.uses = new TokenUseLog(o.dataDir);
    this.watch = new RevocationListWatch(o.dataDir, (state, added) => this.listChanged(state, added));
  }

  /** Refuses (IdentityError) a token that a revocation names, or that an unreadable list might name. */
  async check(id: Identity, now: number): Promise<void> {
    const token = id.token;
    if (!token) return;
    const local = this.watch.current();
    // The call that first sees a revocation answers once the team holds it too: any call after it,
    // on any proxy, is refused.
    if (this.sharing) await this.sharing;
    const set = local.ok ? local.set : local.lastGood;
    if (!local.ok && (token.issuedAt === undefined || token.issuedAt <= local.since)) {
      throw new IdentityError('revocations-unreadable', `${path.join(this.o.dataDir, 'revocations.json')}: ${local.problem.slice(0, 200)}`);
    }
    const found = set.match(id) ?? (await this.teamMatch(id));
    if (found) throw new IdentityError('revoked', describe(found));
    if (token.id) {
      this.uses.note(token.id, now);
      this.o.onUse?.(token.id, now);
    }
  }

  private async teamMatch(id: Identity): Promise<Revocation | undefined> {
    const team = this.o.team;
    if (!team) return undefined;
    let kept: Revocation[];
    try {
      kept = await team.lookup(fieldsFor(id));
      this.teamProblem = '';
    } catch (err) {
      if (RevocationFormatError.is(err)) throw new IdentityError('revocations-unreadable', `the team's revocation in Redis: ${err.message}`);
      // Out of reach: what this proxy has seen of the team's list still holds.
      const problem = (err as Error).message;
      if (problem !== this.teamProblem) this.o.log.warn(`revocations: ${problem}; checking tokens against the ${this.teamKnown.size} team revocations seen so far`);
      this.teamProblem = problem;
      return this.teamKnown.match(id);
    }
    for (const r of kept) this.teamKnown.add(r);
    const found = kept.find((r) => revokes(r, id));
    // The ledger says from when this proxy refused it, even before the next sync reads the list.
    if (found) this.recordOnce(found, 'store');
    return found;
  }

  /** Starts following revocations made elsewhere: recorded within `syncMs` even when no call comes. */
  start(): void {
    this.watch.current();
    void this.sync();
    this.timer = setInterval(() => {
      this.watch.current();
      void this.sync();
    }, this.o.syncMs ?? 2_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.uses.flush();
  }

  /** Records the team's revocations this ledger has not recorded yet. */
  async sync(): Promise<void> {
    const team = this.o.team;
    if (!team) return;
    try {
      const { revocations, unreadable } = await team.all();
      if (unreadable > 0) this.o.log.warn(`revocations: ${unreadable} team revocations in Redis do not read; tokens they could name are refused`);
      for (const r of revocations) {
        if (this.teamKnown.add(r)) this.o.announce?.(r);
        this.recordOnce(r, 'store');
      }
    } catch {
      // Logged by the per-request check; the next sync tries again.
    }
  }

  private listChanged(state: ListState, added: readonly Revocation[]): void {
    if (!state.ok) {
      if (state.problem !== this.listProblem) this.o.log.error(`revocations: ${state.problem}; tokens issued before it was written are refused until it reads again`);
      this.listProblem = state.problem;
      return;
    }
    this.listProblem = '';
    for (const r of added) {
      this.recordOnce(r, 'data-dir');
      this.o.announce?.(r);
    }
    const team = this.o.team;
    if (!team || added.length === 0) return;
    // The team hears of it too, so a revocation made on one machine holds on every proxy.
    const shared = Promise.all(added.map((r) => team.add(r, this.o.clock()).catch((err: Error) => this.o.log.warn(`revocations: could not share ${r.id} with the team: ${err.message}`))));
    const done = (this.sharing = Promise.all([this.sharing, shared]).then(() => {
      if (this.sharing === done) this.sharing = undefined;
    }));
  }

  private recordOnce(r: Revocation, source: RevocationBody['source']): void {
    if (this.recorded.has(r.id)) return;
    const j = revocationJson(r);
    const body: RevocationBody = { kind: 'revocation', revocation: r.id, target: r.target, value: r.value, user: j.user, revoked_at: j.revoked_at, reason: j.reason, source };
    if (!this.o.record(body)) return;
    this.recorded.add(r.id);
    this.o.log.info(`revocation ${r.id} in force: ${describe(r)}`);
    this.writeRecorded();
  }

  private readRecorded(): Set<string> {
    try {
      const ids = JSON.parse(fs.readFileSync(path.join(this.o.dataDir, RECORDED_REVOCATIONS_FILE), 'utf8')) as unknown;
      return new Set(Array.isArray(ids) ? ids.filter((x): x is string => typeof x === 'string') : []);
    } catch {
      return new Set();
    }
  }

  private writeRecorded(): void {
    try {
      writePrivateFile(path.join(this.o.dataDir, RECORDED_REVOCATIONS_FILE), `${JSON.stringify([...this.recorded])}\n`);
    } catch (err) {
      this.o.log.warn(`revocations: cannot note which revocations are recorded: ${(err as Error).message}`);
    }
  }
}

/** A revocation as the admin stream announces it (`event: revocation`). */
export function revocationView(r: Revocation): RevocationView {
  const j = revocationJson(r);
  return { id: j.id, target: j.target, value: j.value, user: j.user, revoked_at: j.revoked_at, reason: j.reason };
}

/** A revocation in words, for the refused client and the log (never a token, only its id). */
export function describe(r: Revocation): string {
  const when = new Date(r.revokedAt).toISOString();
  const what =
    r.target === 'token' ? `token ${r.value}`
    : r.target === 'key' ? `every token signed by key ${r.value}`
    : r.target === 'agent' ? `the tokens of agent '${r.value}'${r.user ? ` of ${r.user}` : ''} issued up to then`
    : `the tokens of ${r.target} ${r.value} issued up to then`;
  return `revocation ${r.id} at ${when} revoked ${what}${r.reason ? ` (${r.reason})` : ''}`;
}
