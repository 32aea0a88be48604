import { randomBytes } from 'node:crypto';
import type { Policy } from '../../engine/policy/model';
import type { AccumulatorStore } from '../../engine/store';
import type { AccumulatorSpec, AlertCrossing, ChargeOp, HeldCharge, Hold, OpResult, ReserveResult, SettleResult } from '../../engine/limiters/spec';
import { MemoryStore } from '../memory-store';
import { num, numberList, replyStrings, specArgs } from './codec';
import type { ScriptConnection } from './connection';
import { StoreError } from './errors';
import { RedisRevocations } from './revocations';
import { RedisSuspensions } from './suspensions';
import { RedisTokens } from './tokens';
import { RedisToolPins } from './tool-pins';
import { RedisWitnesses } from './witnesses';

export type UnavailablePolicy = 'refuse' | 'local';

export interface RedisStoreOptions {
  /** Content of every key's hash tag: all of a policy's accumulators share one cluster slot. */
  readonly namespace: string;
  /**
   * 'server' (default): every script reads Redis's TIME, so proxies with skewed clocks agree and
   * the `now` arguments are ignored. 'caller': scripts use the `now` they are given (replaying
   * simulated time in tests and tools); keys then get no expiry, since TTLs run on real time.
   */
  readonly clock?: 'server' | 'caller';
  /** How long a reservation stays held before a settlement anywhere finalises it at its reserved amount. */
  readonly holdTtlMs?: number;
  /** Fail closed ('refuse', default: reserve rejects with StoreError 'unavailable') or open to a local MemoryStore. */
  readonly onUnavailable?: UnavailablePolicy;
  /** Expired holds finalised per settlement at most, so one settlement never runs long. */
  readonly sweepLimit?: number;
  /** Settlements kept to replay when Redis comes back (older ones are dropped; their holds expire). */
  readonly maxPendingSettlements?: number;
  readonly log?: (line: string) => void;
}

export type StoreMode = 'redis' | 'local' | 'unavailable';

export interface StoreStatus {
  readonly mode: StoreMode;
  /** When the current mode began (this process's clock). */
  readonly since: number;
  readonly lastError?: string;
  /** Holds other or earlier settlements found past their deadline and finalised at their reserved amount. */
  readonly expiredHoldsFinalised: number;
  /** Settlements waiting for Redis to come back. */
  readonly pendingSettlements: number;
}

const LOCAL_PREFIX = 'local:';

/**
 * Accumulators in Redis, shared by every proxy that uses the same Redis and namespace. Each
 * reserve, settle and peek is one Lua script, so a decision's check-and-take across all its
 * accumulators is one atomic round trip (see lua.ts for the algorithms).
 *
 * Keys: `{tollgate:<namespace>}:a:<rule>#<identity key>` per accumulator, plus
 * `{tollgate:<namespace>}:holds` (zset, hold id -> deadline) and `:hold-charges` (hash). One hash
 * tag per namespace (the policy's name unless the URL says `?namespace=`) because a decision's
 * keys cannot be partitioned any finer without changing what a limit means: a role or
 * classification key is shared by every user holding it, and a user key by every rule, so any
 * finer tag would either split one accumulator in two or put one decision in two slots. The
 * price: one team's accumulators live on one cluster shard (a cluster gives it failover, not
 * throughput); separate namespaces spread across shards.
 *
 * Time: the scripts read `TIME` on the Redis server (the `now` arguments are ignored), so proxies
 * with skewed clocks agree; keys get a TTL after which a fresh state is equivalent.
 * Holds: each carries a deadline (holdTtlMs). A settlement sweeps holds past theirs and finalises
 * them at their reserved amount (a call whose proxy vanished counts at its worst case); settling or
 * releasing an expired hold is a no-op, so nothing leaks and nothing is refunded twice.
 * Outage: reserve rejects with StoreError 'unavailable' (the proxy answers 503), or with
 * `store.on_unavailable: local` decides on this process's MemoryStore until Redis answers again;
 * settlements that fail are queued and replayed on reconnection.
 */
export class RedisStore implements AccumulatorStore {
  private readonly tag: string;
  private readonly accPrefix: string;
  private readonly holdsKey: string;
  private readonly holdChargesKey: string;
  private readonly clock: 'server' | 'caller';
  private readonly holdTtlMs: number;
  private readonly sweepLimit: number;
  private readonly maxPending: number;
  private onUnavailable: UnavailablePolicy;
  private readonly local = new MemoryStore();
  private readonly instance = randomBytes(6).toString('hex');
  private nextHold = 1;
  private mode: StoreMode = 'redis';
  private since = Date.now();
  private lastError: string | undefined;
  private expiredFinalised = 0;
  private readonly pending: { hold: Hold; actual: readonly number[] }[] = [];
  private replaying = false;
  private readonly listeners = new Set<(status: StoreStatus) => void>();
  /** Each proxy's latest ledger witness, in the same Redis and namespace. */
  readonly witnesses: RedisWitnesses;
  /** The team's revocations, in the same Redis and namespace. */
  readonly revocations: RedisRevocations;
  /** The team's suspensions (guards.divergence), in the same Redis and namespace. */
  readonly suspensions: RedisSuspensions;
  /** The tokens minted in the team and their last uses, in the same Redis and namespace. */
  readonly tokens: RedisTokens;
  /** The team's pinned MCP tool definitions, in the same Redis and namespace. */
  readonly toolPins: RedisToolPins;

  constructor(
    private readonly connection: ScriptConnection,
    private readonly options: RedisStoreOptions,
  ) {
    // A brace in the namespace would end the hash tag early and split a decision across slots.
    this.tag = `{tollgate:${options.namespace.replace(/[{}]/g, '_')}}`;
    this.accPrefix = `${this.tag}:a:`;
    this.holdsKey = `${this.tag}:holds`;
    this.holdChargesKey = `${this.tag}:hold-charges`;
    this.clock = options.clock ?? 'server';
    this.holdTtlMs = options.holdTtlMs ?? 15 * 60_000;
    this.sweepLimit = options.sweepLimit ?? 16;
    this.maxPending = options.maxPendingSettlements ?? 10_000;
    this.onUnavailable = options.onUnavailable ?? 'refuse';
    this.witnesses = new RedisWitnesses(connection, this.tag);
    this.revocations = new RedisRevocations(connection, this.tag);
    this.suspensions = new RedisSuspensions(connection, this.tag, (line) => this.options.log?.(line));
    this.tokens = new RedisTokens(connection, this.tag);
    this.toolPins = new RedisToolPins(connection, this.tag, (line) => this.options.log?.(line));
  }

  /** The Redis key of an accumulator (exposed for tests and operators' tooling). */
  redisKey(key: string): string {
    return this.accPrefix + key;
  }

  status(): StoreStatus {
    return { mode: this.mode, since: this.since, lastError: this.lastError, expiredHoldsFinalised: this.expiredFinalised, pendingSettlements: this.pending.length };
  }

  /** Called on every mode change (redis, local, unavailable), for logs and the ledger. */
  onStatus(listener: (status: StoreStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A reloaded bundle may change `store.on_unavailable`; the connection and namespace stay. */
  applyPolicy(policy: Policy): void {
    this.setUnavailablePolicy(policy.store?.onUnavailable ?? 'refuse');
  }

  setUnavailablePolicy(policy: UnavailablePolicy): void {
    this.onUnavailable = policy;
  }

  /** Whether a hold was taken from the local fallback store while Redis was unreachable. */
  isLocalHold(hold: Hold): boolean {
    return hold.id.startsWith(LOCAL_PREFIX);
  }

  async reserve(ops: readonly ChargeOp[], now: number): Promise<ReserveResult> {
    if (ops.length === 0) return { ok: true, results: [], hold: { id: this.newHoldId(), charges: [] } };
    try {
      const result = await this.reserveInRedis(ops, now);
      this.up();
      return result;
    } catch (err) {
      if (!StoreError.is(err, 'unavailable')) throw err;
      this.down(err);
      if (this.onUnavailable !== 'local') throw err;
      // Fail open, as the bundle asked: this process's own accumulators stand in until Redis returns.
      const r = this.local.reserveNow(ops, now);
      return r.ok ? { ...r, hold: { ...r.hold, id: `${LOCAL_PREFIX}${r.hold.id}` } } : r;
    }
  }

  async settle(hold: Hold, actual: readonly number[], now: number): Promise<SettleResult> {
    if (this.isLocalHold(hold)) return this.local.settleNow(hold, actual, now);
    if (hold.charges.length === 0) return { results: [], alerts: [] };
    try {
      const result = await this.settleInRedis(hold, actual, now);
      this.up();
      return result;
    } catch (err) {
      if (!StoreError.is(err, 'unavailable')) throw err;
      this.down(err);
      // Replayed when Redis returns; past the hold's deadline the script ignores it and the
      // hold counts at its reserved worst case, so a lost settlement never under-charges.
      this.pending.push({ hold, actual });
      if (this.pending.length > this.maxPending) this.pending.shift();
      return { results: [], alerts: [] };
    }
  }

  async release(hold: Hold, now: number): Promise<void> {
    await this.settle(hold, hold.charges.map(() => 0), now);
  }

  async peek(items: readonly { key: string; spec: AccumulatorSpec }[], now: number): Promise<OpResult[]> {
    if (items.length === 0) return [];
    const args = [this.nowArg(now)];
    for (const { spec } of items) args.push(...specArgs(spec), '', '');
    try {
      const out = replyStrings(await this.connection.run('peek', items.map((i) => this.redisKey(i.key)), args));
      this.up();
      return items.map((_item, i) => {
        const used = num(out[1 + i * 2]);
        return { before: used, after: used, limit: num(out[2 + i * 2]) };
      });
    } catch (err) {
      if (!StoreError.is(err, 'unavailable')) throw err;
      this.down(err);
      if (this.onUnavailable !== 'local') throw err;
      return this.local.peekNow(items, now);
    }
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  private async reserveInRedis(ops: readonly ChargeOp[], now: number): Promise<ReserveResult> {
    const id = this.newHoldId();
    const args = [this.nowArg(now), id, String(this.holdTtlMs), this.gcFlag()];
    for (const op of ops) args.push(...specArgs(op.spec), String(op.amount), op.force ? '1' : '0');
    const out = replyStrings(await this.connection.run('reserve', [this.holdsKey, this.holdChargesKey, ...ops.map((o) => this.redisKey(o.key))], args));
    const ok = out[0] === '1';
    const results: OpResult[] = [];
    const failures: number[] = [];
    const charges: HeldCharge[] = [];
    ops.forEach((op, i) => {
      const base = 2 + i * 5;
      const retry = out[base + 3];
      if (retry) failures.push(i);
      results.push({ before: num(out[base]), after: num(out[base + 1]), limit: num(out[base + 2]), retryAfterMs: retry ? (retry === 'null' ? null : num(retry)) : undefined });
      if (ok) charges.push({ key: op.key, spec: op.spec, amount: op.amount, slot: num(out[base + 4]) });
    });
    return ok ? { ok: true, results, hold: { id, charges } } : { ok: false, results, failures };
  }

  private async settleInRedis(hold: Hold, actual: readonly number[], now: number): Promise<SettleResult> {
    const args = [this.nowArg(now), hold.id, String(this.holdTtlMs), this.gcFlag(), String(this.sweepLimit)];
    hold.charges.forEach((c, i) => args.push(...specArgs(c.spec), String(c.amount), String(c.slot), String(actual[i] ?? c.amount)));
    const out = replyStrings(await this.connection.run('settle', [this.holdsKey, this.holdChargesKey, ...hold.charges.map((c) => this.redisKey(c.key))], args));
    const results: OpResult[] = [];
    const alerts: AlertCrossing[] = [];
    hold.charges.forEach((c, i) => {
      const base = 2 + i * 4;
      const after = num(out[base + 1]);
      const limit = num(out[base + 2]);
      results.push({ before: num(out[base]), after, limit });
      for (const threshold of numberList(out[base + 3])) alerts.push({ key: c.key, threshold, used: after, limit });
    });
    let at = 2 + hold.charges.length * 4;
    const expired = num(out[at++]);
    this.expiredFinalised += expired;
    at += expired;
    // Alerts that finalising expired holds crossed: reported with this settlement so none is lost.
    while (at + 3 < out.length) {
      const key = out[at]!;
      alerts.push({ key: key.startsWith(this.accPrefix) ? key.slice(this.accPrefix.length) : key, threshold: num(out[at + 1]), used: num(out[at + 2]), limit: num(out[at + 3]) });
      at += 4;
    }
    return { results, alerts };
  }

  private nowArg(now: number): string {
    return this.clock === 'caller' ? String(now) : '';
  }

  private gcFlag(): string {
    return this.clock === 'server' ? '1' : '0';
  }

  private newHoldId(): string {
    return `${this.instance}-${this.nextHold++}`;
  }

  private up(): void {
    if (this.mode !== 'redis') {
      this.setMode('redis', undefined);
      this.options.log?.('redis store: connected again; shared accumulators in use');
    }
    if (this.pending.length > 0 && !this.replaying) void this.replayPending();
  }

  private down(err: StoreError): void {
    const mode: StoreMode = this.onUnavailable === 'local' ? 'local' : 'unavailable';
    if (this.mode !== mode) {
      this.setMode(mode, err.message);
      this.options.log?.(
        mode === 'local'
          ? `redis store: ${err.message}; failing open to this process's local accumulators (store.on_unavailable: local)`
          : `redis store: ${err.message}; refusing requests until Redis is back (store.on_unavailable: refuse)`,
      );
    } else {
      this.lastError = err.message;
    }
  }

  private setMode(mode: StoreMode, error: string | undefined): void {
    this.mode = mode;
    this.since = Date.now();
    this.lastError = error;
    const status = this.status();
    for (const listener of this.listeners) listener(status);
  }

  /** Sends the settlements that failed while Redis was away, oldest first, stopping at the next failure. */
  private async replayPending(): Promise<void> {
    this.replaying = true;
    try {
      while (this.pending.length > 0) {
        const next = this.pending[0]!;
        try {
          await this.settleInRedis(next.hold, next.actual, Date.now());
        } catch (err) {
          if (StoreError.is(err, 'unavailable')) return;
          this.options.log?.(`redis store: dropping a settlement that cannot be replayed: ${(err as Error).message}`);
        }
        this.pending.shift();
      }
    } finally {
      this.replaying = false;
    }
  }
}
