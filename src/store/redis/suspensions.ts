import type { PendingResumption, ResumeTarget, Suspension, SuspensionRegistry } from '../../engine/divergence/suspension';
import { parsePendingResumption, parseSuspension, resumes, SuspensionFormatError } from '../../engine/divergence/suspension';
import { hashPairs } from './codec';
import { OnceWarnings } from './once-warnings';
import type { ScriptConnection } from './connection';
import { StoreError } from './errors';

/*
 * Team mode keeps suspensions in Redis, beside the accumulators: `{tollgate:<namespace>}:suspensions`
 * (identity key -> suspension JSON), `:resumptions` (identity key -> times resumed) and
 * `:resumption-records` (resumptions the CLI lifted, for one proxy to record). A suspension one
 * proxy's guard decides refuses the identity on every proxy's next call; a resume through any of
 * them, or `tollgate identity resume --store`, lifts it on all.
 *
 * Redis out of reach, as for revocations: each proxy goes on refusing the suspensions it has seen
 * (its own included: one decided while Redis is away refuses here and is written when Redis answers)
 * and decides everyone else as usual, their limits failing closed or open as store.on_unavailable
 * says. Resuming and listing need Redis: they fail rather than lift a suspension on one proxy only
 * or show a list that may be stale.
 * What Redis returns is read as data: an entry that does not read as a suspension (or sits under
 * another identity's key) is ignored with a warning; no guard wrote it.
 */
export class RedisSuspensions implements SuspensionRegistry {
  readonly key: string;
  readonly resumedKey: string;
  readonly recordsKey: string;
  /** The suspensions this proxy has seen in force: what it refuses while Redis is out of reach. */
  private readonly seen = new Map<string, Suspension>();
  /** Decided here while Redis was out of reach, to be written when it answers. */
  private readonly unshared = new Map<string, Suspension>();
  private readonly resumedSeen = new Map<string, number>();
  private readonly warnings: OnceWarnings;
  private outage = '';

  constructor(
    private readonly connection: ScriptConnection,
    /** The namespace's hash tag, `{tollgate:<namespace>}`. */
    tag: string,
    private readonly log: (line: string) => void,
  ) {
    this.key = `${tag}:suspensions`;
    this.resumedKey = `${tag}:resumptions`;
    this.recordsKey = `${tag}:resumption-records`;
    this.warnings = new OnceWarnings(log);
  }

  async find(keys: readonly string[]): Promise<Suspension | undefined> {
    if (keys.length === 0) return undefined;
    let values: unknown[];
    try {
      await this.share();
      values = (await this.connection.run('hashGet', [this.key], keys)) as unknown[];
      this.reachable();
    } catch (err) {
      this.unreachable(err);
      for (const k of keys) {
        const s = this.seen.get(k);
        if (s) return s;
      }
      return undefined;
    }
    let found: Suspension | undefined;
    keys.forEach((k, i) => {
      const v = values[i];
      const s = typeof v === 'string' ? this.read(k, v) : undefined;
      if (s) this.seen.set(k, s);
      else this.seen.delete(k);
      found ??= s;
    });
    return found;
  }

  async suspend(s: Suspension): Promise<boolean> {
    try {
      const added = await this.connection.run('suspend', [this.key], [s.key, JSON.stringify(s)]);
      this.reachable();
      if (Number(added) !== 1) return false;
    } catch (err) {
      this.unreachable(err);
      if (this.seen.has(s.key)) return false;
      this.unshared.set(s.key, s);
      this.log(`suspensions: ${s.key} is suspended on this proxy; the team's store hears of it when Redis answers again`);
    }
    this.seen.set(s.key, s);
    return true;
  }

  async resume(target: ResumeTarget): Promise<Suspension[]> {
    const kept = await this.all();
    const lifting = kept.filter((k) => resumes(target, k.suspension));
    const local = [...this.unshared.values()].filter((s) => resumes(target, s) && !lifting.some((k) => k.field === s.key));
    for (const s of local) {
      this.unshared.delete(s.key);
      this.seen.delete(s.key);
    }
    if (lifting.length === 0) return local;
    const liftedKeys = new Set(((await this.connection.run('resume', [this.key, this.resumedKey], lifting.flatMap((k) => [k.field, k.value]))) as unknown[]).map(String));
    const lifted = lifting.filter((k) => liftedKeys.has(k.field)).map((k) => k.suspension);
    for (const s of lifted) {
      this.seen.delete(s.key);
      this.unshared.delete(s.key);
    }
    return [...lifted, ...local];
  }

  async resumptions(key: string): Promise<number> {
    try {
      const [v] = (await this.connection.run('hashGet', [this.resumedKey], [key])) as unknown[];
      this.reachable();
      const n = v === null || v === undefined ? 0 : Number(v);
      if (!Number.isSafeInteger(n) || n < 0) {
        this.warnings.warn(`resumed:${key}:${String(v)}`, `suspensions: the count of resumptions of ${JSON.stringify(key.slice(0, 100))} in Redis ${this.resumedKey} is not a count; taken as 0`);
        return this.resumedSeen.get(key) ?? 0;
      }
      this.resumedSeen.set(key, n);
      return n;
    } catch (err) {
      this.unreachable(err);
      return this.resumedSeen.get(key) ?? 0;
    }
  }

  async list(): Promise<Suspension[]> {
    const kept = (await this.all()).map((k) => k.suspension);
    return [...kept, ...[...this.unshared.values()].filter((s) => !kept.some((k) => k.key === s.key))];
  }

  async queueRecords(pending: readonly PendingResumption[]): Promise<void> {
    if (pending.length === 0) return;
    await this.connection.run('queuePush', [this.recordsKey], pending.map((p) => JSON.stringify(p)));
  }

  async takeRecords(): Promise<PendingResumption[]> {
    let items: unknown[];
    try {
      items = (await this.connection.run('queueTake', [this.recordsKey], [])) as unknown[];
      this.reachable();
    } catch (err) {
      this.unreachable(err);
      return [];
    }
    const out: PendingResumption[] = [];
    for (const item of items) {
      try {
        out.push(parsePendingResumption(JSON.parse(String(item))));
      } catch (err) {
        this.warnings.warn(`record:${String(item)}`, `suspensions: a queued resumption in Redis ${this.recordsKey} does not read (${(err as Error).message}); not recorded`);
      }
    }
    return out;
  }

  /** Every suspension kept in Redis, with the value it was read with. */
  private async all(): Promise<{ field: string; value: string; suspension: Suspension }[]> {
    const pairs = hashPairs(await this.connection.run('hashAll', [this.key], []));
    this.reachable();
    const out: { field: string; value: string; suspension: Suspension }[] = [];
    for (const [field, value] of pairs) {
      const suspension = this.read(field, value);
      if (suspension) out.push({ field, value, suspension });
    }
    return out;
  }

  /** Writes the suspensions decided here while Redis was away; the first kept wins, as for any two proxies. */
  private async share(): Promise<void> {
    for (const s of [...this.unshared.values()]) {
      await this.connection.run('suspend', [this.key], [s.key, JSON.stringify(s)]);
      this.unshared.delete(s.key);
    }
  }

  private read(field: string, value: string): Suspension | undefined {
    try {
      const s = parseSuspension(JSON.parse(value));
      if (s.key !== field) throw new SuspensionFormatError(`it is kept under the key of another identity`);
      return s;
    } catch (err) {
      this.warnings.warn(`${field}\n${value}`, `suspensions: the entry for ${JSON.stringify(field.slice(0, 100))} in Redis ${this.key} is not a suspension (${(err as Error).message.slice(0, 200)}); ignored`);
      return undefined;
    }
  }

  private reachable(): void {
    if (this.outage === '') return;
    this.outage = '';
    this.log('suspensions: Redis answers again; the team\'s suspensions are in force');
  }

  /** Anything but Redis being out of reach (a refused script) is thrown: it is not an outage to ride out. */
  private unreachable(err: unknown): void {
    if (!StoreError.is(err, 'unavailable')) throw err;
    if (err.message === this.outage) return;
    this.outage = err.message;
    this.log(`suspensions: ${err.message}; refusing the ${this.seen.size} suspended identities this proxy has seen until Redis answers`);
  }
}
