import { DIVERGENCE_GUARD } from '../guards';
import type { Identity } from '../identity/identity';
import { isAgentName } from '../identity/identity';
import type { DivergenceMeasure } from '../policy/schema';
import type { Divergence } from './baseline';

// A suspended identity: who, since when, and why, as the suspension record, the refusal and the
// resume command name it. Keys read as the limits' identity keys do: `agent:<user>/<agent>` for the
// pair, `user:<user>` for the person.

/** What a suspension stands on: one identity, watched per agent or per person. */
export interface WatchedIdentity {
  /** `agent:alice@acme.dev/notebook` or `user:alice@acme.dev`. */
  readonly key: string;
  readonly per: 'agent' | 'user';
  readonly user: string;
  /** The agent of a per-agent suspension; null for the person. */
  readonly agent: string | null;
}

export interface Suspension extends WatchedIdentity {
  /** The guard that suspended it. */
  readonly guard: typeof DIVERGENCE_GUARD;
  readonly measure: DivergenceMeasure;
  readonly recent: number;
  readonly baseline: number;
  readonly threshold: number;
  readonly ratio: number | null;
  /** When it was suspended (ISO 8601 UTC). */
  readonly since: string;
}

export function agentKey(user: string, agent: string): string {
  return `agent:${user}/${agent}`;
}

export function userKey(user: string): string {
  return `user:${user}`;
}

/** The identities a call belongs to, among the dimensions the guard watches. */
export function watchedIdentities(identity: Identity, per: readonly ('agent' | 'user')[]): WatchedIdentity[] {
  return per.map((p) =>
    p === 'agent'
      ? { key: agentKey(identity.user, identity.agent), per: p, user: identity.user, agent: identity.agent }
      : { key: userKey(identity.user), per: p, user: identity.user, agent: null },
  );
}

/**
 * The keys under which a call's identity may be suspended, whatever the bundle watches now: a
 * suspension stays in force until it is lifted, even when the guard is edited out of the bundle.
 */
export function suspensionKeysOf(identity: Identity): [agent: string, user: string] {
  return [agentKey(identity.user, identity.agent), userKey(identity.user)];
}

export function suspensionOf(who: WatchedIdentity, d: Divergence, now: number): Suspension {
  return {
    key: who.key, per: who.per, user: who.user, agent: who.agent, guard: DIVERGENCE_GUARD, measure: d.measure,
    recent: d.recent, baseline: d.baseline, threshold: d.threshold, ratio: d.ratio, since: new Date(now).toISOString(),
  };
}

/** The command that lifts a suspension. */
export function resumeCommand(s: WatchedIdentity): string {
  return s.agent === null ? `tollgate identity resume --user ${s.user}` : `tollgate identity resume --agent ${s.agent} --user ${s.user}`;
}

function amount(measure: DivergenceMeasure, n: number): string {
  if (measure === 'usd') return `$${n.toFixed(n < 1 ? 4 : 2)}`;
  return `${Math.round(n * 100) / 100} ${measure}`;
}

/** What the identity did, against what it usually does, in words. */
export function divergenceText(s: Pick<Suspension, 'measure' | 'recent' | 'baseline' | 'threshold' | 'ratio'>): string {
  const usual = s.ratio === null ? 'no baseline yet' : `${Math.round(s.ratio * 10) / 10}x its usual ${amount(s.measure, s.baseline)}`;
  return `${amount(s.measure, s.recent)} in the window (${usual}; threshold ${amount(s.measure, s.threshold)})`;
}

/** Why a suspended identity's call is refused, and how to lift it. Waiting does not help. */
export function suspendedReason(s: Suspension): string {
  const who = s.agent === null ? `${s.user}` : `agent ${s.agent} of ${s.user}`;
  return `guard '${s.guard}' suspended ${who} at ${s.since}: ${divergenceText(s)}. Waiting does not lift it: someone who may resume it runs '${resumeCommand(s)}' (or resumes it in the team dashboard)`;
}

/** Which suspensions a resume lifts: a person's own, or an agent's (of one person, or of everyone). */
export interface ResumeTarget {
  readonly user?: string;
  readonly agent?: string;
}

/** Whether a resume for `target` lifts `s`: `--user` alone lifts the person, `--agent` (with or without `--user`) the agent. */
export function resumes(target: ResumeTarget, s: WatchedIdentity): boolean {
  if (target.agent !== undefined) return s.agent === target.agent && (target.user === undefined || s.user === target.user);
  return target.user !== undefined && s.agent === null && s.user === target.user;
}

/** A suspension lifted where no ledger could record it (the CLI, while a proxy holds the ledger). */
export interface PendingResumption {
  readonly suspension: Suspension;
  /** When it was lifted (ms since the epoch). */
  readonly at: number;
  readonly via: 'cli' | 'admin';
}

/**
 * Where suspensions live, so a restart and every proxy of a team see them: the data dir, or the
 * team's Redis. The engine never touches it; the proxy looks a call's identity up before deciding.
 */
export interface SuspensionRegistry {
  /** The suspension in force under any of `keys`, if any (the first found). */
  find(keys: readonly string[]): Promise<Suspension | undefined>;
  /** Suspends; false when the identity already was (another proxy came first). */
  suspend(s: Suspension): Promise<boolean>;
  /** Lifts every suspension `target` names and returns them; each key's count of resumptions goes up by one. */
  resume(target: ResumeTarget): Promise<Suspension[]>;
  /** How many times a key has been resumed (0: never). */
  resumptions(key: string): Promise<number>;
  list(): Promise<Suspension[]>;
  /** Queues resumptions for a proxy to record in its ledger. */
  queueRecords(pending: readonly PendingResumption[]): Promise<void>;
  /** Takes the queued resumptions (each taken once, by one proxy). */
  takeRecords(): Promise<PendingResumption[]>;
}

/** A suspension read back from where it was kept (Redis) that does not read as one. */
export class SuspensionFormatError extends Error {
  readonly reason = 'malformed-suspension' as const;
  constructor(message: string) {
    super(message);
    this.name = 'SuspensionFormatError';
  }
  static is(err: unknown): err is SuspensionFormatError {
    return err instanceof SuspensionFormatError;
  }
}

const MEASURE_NAMES: readonly string[] = ['calls', 'tokens', 'usd'];
const MAX_NAME = 320;

function nameField(o: Record<string, unknown>, field: string): string {
  const v = o[field];
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_NAME) throw new SuspensionFormatError(`${field} is not a string of 1 to ${MAX_NAME} characters`);
  return v;
}

function amountField(o: Record<string, unknown>, field: string): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new SuspensionFormatError(`${field} is not a finite amount`);
  return v;
}

/**
 * A suspension as kept (JSON of a Suspension), validated field by field: what another process
 * wrote is read as data, and a key that does not match its person and agent is refused, so an
 * entry cannot lift or name one identity under another's key.
 */
export function parseSuspension(raw: unknown): Suspension {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new SuspensionFormatError('a suspension is not an object');
  const o = raw as Record<string, unknown>;
  if (o.guard !== DIVERGENCE_GUARD) throw new SuspensionFormatError(`unknown guard ${JSON.stringify(o.guard)?.slice(0, 40)}`);
  if (o.per !== 'agent' && o.per !== 'user') throw new SuspensionFormatError('per is not agent or user');
  if (typeof o.measure !== 'string' || !MEASURE_NAMES.includes(o.measure)) throw new SuspensionFormatError('measure is not calls, tokens or usd');
  const user = nameField(o, 'user');
  let agent: string | null = null;
  if (o.per === 'agent') {
    agent = nameField(o, 'agent');
    if (!isAgentName(agent)) throw new SuspensionFormatError('agent is not an agent name');
  } else if (o.agent !== null) throw new SuspensionFormatError("a person's suspension names an agent");
  const key = agent === null ? userKey(user) : agentKey(user, agent);
  if (o.key !== key) throw new SuspensionFormatError(`key does not match its person and agent (expected ${key.slice(0, 80)})`);
  const ratio = o.ratio === null ? null : amountField(o, 'ratio');
  const since = typeof o.since === 'string' && o.since.length <= 40 ? Date.parse(o.since) : Number.NaN;
  if (!Number.isFinite(since)) throw new SuspensionFormatError('since is not a time');
  return {
    key, per: o.per, user, agent, guard: DIVERGENCE_GUARD, measure: o.measure as DivergenceMeasure, recent: amountField(o, 'recent'), baseline: amountField(o, 'baseline'),
    threshold: amountField(o, 'threshold'), ratio, since: new Date(since).toISOString(),
  };
}

/** A queued resumption as kept (JSON of a PendingResumption), validated as parseSuspension does. */
export function parsePendingResumption(raw: unknown): PendingResumption {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new SuspensionFormatError('a queued resumption is not an object');
  const o = raw as Record<string, unknown>;
  if (o.via !== 'cli' && o.via !== 'admin') throw new SuspensionFormatError('via is not cli or admin');
  if (typeof o.at !== 'number' || !Number.isFinite(o.at)) throw new SuspensionFormatError('at is not a time');
  return { suspension: parseSuspension(o.suspension), at: o.at, via: o.via };
}
