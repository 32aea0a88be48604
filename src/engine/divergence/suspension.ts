import { DIVERGENCE_GUARD } from '../guards';
import type { Identity } from '../identity/identity';
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
