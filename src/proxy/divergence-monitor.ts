import type { AlertBody, ResumptionBody, SuspensionBody } from '../contracts/audit-records';
import { roundUsd } from '../contracts/audit-records';
import type { SuspensionView } from '../contracts/admin';
import type { HourlyRow } from '../contracts/ledger-queries';
import type { Amounts, Baseline } from '../engine/divergence/baseline';
import { baselineOf, HOUR_MS } from '../engine/divergence/baseline';
import type { ResumeTarget, Suspension, SuspensionRegistry } from '../engine/divergence/suspension';
import { agentKey, divergenceText, resumeCommand, suspensionKeysOf, userKey } from '../engine/divergence/suspension';
import { DivergenceWatch } from '../engine/divergence/watch';
import { DIVERGENCE_GUARD } from '../engine/guards';
import type { Decision } from '../engine/decision';
import type { Identity } from '../engine/identity/identity';
import type { DivergenceConfig, Policy } from '../engine/policy/model';
import type { CallEvents } from '../pipeline/call-events';

/** How often baselines are taken again from the ledger: they move by the hour, not by the call. */
export const BASELINE_REFRESH_MS = 5 * 60_000;
/** How often resumptions the CLI queued (while this proxy held the ledger) are looked for. */
const QUEUE_POLL_MS = 2_000;

export interface MonitorParts {
  readonly registry: SuspensionRegistry;
  /** The bundle in force now. */
  readonly policy: () => Policy;
  /** Hourly totals per identity from the ledger's index. */
  readonly hourly: (dimension: 'user' | 'agent', range: { since: string; until: string }) => Promise<HourlyRow[]>;
  /** Appends a record to the ledger (the recorder's append: logged, never throwing). */
  readonly append: (entry: SuspensionBody | ResumptionBody | AlertBody) => void;
  readonly publish: (type: 'suspension' | 'resumption', view: SuspensionView) => void;
  readonly clock: () => number;
  readonly log: { info(m: string): void; warn(m: string): void; error(m: string): void };
}

export function viewOf(s: Suspension): SuspensionView {
  return {
    key: s.key, user: s.user, agent: s.agent, guard: s.guard, measure: s.measure, recent: s.recent, baseline: s.baseline, threshold: s.threshold,
    ratio: s.ratio, since: s.since, resume: resumeCommand(s),
  };
}

const rounded = (measure: Suspension['measure'], n: number): number => (measure === 'usd' ? roundUsd(n) : Math.round(n * 1000) / 1000);

/**
 * guards.divergence in the proxy. Off the request path it keeps every identity's baseline (hourly
 * totals from the ledger's index, taken again every few minutes); on it, it counts what each call
 * did into the identity's window (a limiter window in memory) and, when one diverges, suspends it in
 * the registry, records it and raises an alert. Before each decision the pipeline asks it whether
 * the caller is suspended; on a data dir only a suspended caller costs a read of the registry's
 * file, in team mode each call costs one Redis round trip.
 *
 * In team mode each proxy judges the calls it serves against its own ledger's baseline (both sides
 * of the ratio are its share of the identity's traffic), and the suspension it decides is shared
 * through Redis (store/redis/suspensions.ts), so every proxy refuses; the suspension and its
 * alert are recorded here, by the proxy that decided it.
 */
export class DivergenceMonitor {
  private watch: DivergenceWatch | undefined;
  private config: DivergenceConfig | undefined;
  private baselines = new Map<string, Baseline>();
  private refreshedAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | undefined;
  private again = false;
  /** The time the baselines in use were taken at; null until the first are in (until then nobody is judged). */
  private baselinesTaken: number | null = null;
  /** Keys this proxy has seen suspended: one found lifted has its window forgotten. */
  private readonly known = new Set<string>();
  /** Per key, the resumptions whose burst this proxy's window no longer holds. */
  private readonly applied = new Map<string, number>();
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly p: MonitorParts) {}

  /** A bundle is in force: the watch is rebuilt when the guard changes (windows start again). */
  applyPolicy(policy: Policy): void {
    const config = policy.guards.divergence;
    if (JSON.stringify(config) === JSON.stringify(this.config)) return;
    this.config = config;
    this.watch = config ? new DivergenceWatch(config, (key) => this.baselines.get(key)) : undefined;
    this.refreshedAt = Number.NEGATIVE_INFINITY;
    this.baselinesTaken = null;
    if (config) void this.refreshBaselines();
  }

  subscribe(events: CallEvents): void {
    events.on('decided', (e) => this.decided(e.call.identity, e.call.decision));
    events.on('settled', (e) => {
      const u = e.settlement.usage;
      this.count(e.call.identity, { calls: 0, tokens: u.input_tokens + u.output_tokens, usd: e.settlement.usd });
    });
  }

  /** A call was decided (a model call, or an MCP tool call): it counts in its identity's window. */
  decided(identity: Identity, d: Decision): void {
    // The suspension's own refusals are not the identity's behaviour: it cannot stop them.
    if (d.rule === DIVERGENCE_GUARD && d.outcome === 'refuse') return;
    this.count(identity, { calls: 1, tokens: 0, usd: 0 });
  }

  /** Starts the timers: baselines taken again, and resumptions queued by the CLI recorded. */
  start(): void {
    const baselines = setInterval(() => void this.refreshBaselines(), BASELINE_REFRESH_MS);
    const queue = setInterval(() => void this.recordQueued(), QUEUE_POLL_MS);
    baselines.unref();
    queue.unref();
    this.timers.push(baselines, queue);
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
  }

  /** The suspension in force for a caller, if any. A lifted one seen before has its window forgotten. */
  async suspensionOf(identity: Identity): Promise<Suspension | undefined> {
    const keys = suspensionKeysOf(identity);
    const found = await this.p.registry.find(keys);
    for (const key of keys) {
      if (found?.key === key) this.known.add(key);
      else if (this.known.delete(key)) this.forget(key);
    }
    return found;
  }

  list(): Promise<Suspension[]> {
    return this.p.registry.list();
  }

  /** When the baselines in use were taken from the ledger (ISO 8601), or null before the first are in or with the guard off. */
  baselinesAt(): string | null {
    return this.baselinesTaken === null ? null : new Date(this.baselinesTaken).toISOString();
  }

  /** Lifts suspensions (the admin API): each is recorded, its window forgotten, and announced. */
  async resume(target: ResumeTarget, via: 'cli' | 'admin'): Promise<Suspension[]> {
    const lifted = await this.p.registry.resume(target);
    for (const s of lifted) this.resumed(s, via);
    return lifted;
  }

  /** Records the resumptions the CLI lifted while this proxy held the ledger. */
  async recordQueued(): Promise<void> {
    try {
      for (const r of await this.p.registry.takeRecords()) this.resumed(r.suspension, r.via);
    } catch (err) {
      this.p.log.error(`suspensions: ${(err as Error).message}`);
    }
  }

  /** Empties a resumed identity's window, and notes up to which resumption it has been. */
  private forget(key: string): void {
    this.watch?.forget(key);
    void this.p.registry.resumptions(key).then(
      (n) => this.applied.set(key, Math.max(n, this.applied.get(key) ?? 0)),
      () => undefined,
    );
  }

  private resumed(s: Suspension, via: 'cli' | 'admin'): void {
    // Forgotten only if this proxy still took it for suspended: a call may already have found it
    // lifted, and its window has counted since.
    if (this.known.delete(s.key)) this.forget(s.key);
    this.p.append({ kind: 'resumption', guard: s.guard, key: s.key, identity: { user: s.user, agent: s.agent }, suspended_at: s.since, via });
    this.p.log.warn(`guard '${s.guard}': ${s.key} resumed (${via})`);
    this.p.publish('resumption', viewOf(s));
  }

  private count(identity: Identity, amounts: Amounts): void {
    const watch = this.watch;
    const config = this.config;
    if (!watch || !config) return;
    const now = this.p.clock();
    if (now - this.refreshedAt >= BASELINE_REFRESH_MS) void this.refreshBaselines();
    // Until the ledger has given the baselines, every identity would look new: count, judge later.
    for (const s of watch.count(identity, amounts, now, this.baselinesTaken !== null)) void this.suspend(s, config, now);
  }

  private async suspend(s: Suspension, config: DivergenceConfig, now: number): Promise<void> {
    try {
      // A burst a person has already resumed is not held against the identity twice: a window
      // counted before a resumption this proxy had not applied starts again instead (another
      // proxy of the team may have lifted it).
      const resumptions = await this.p.registry.resumptions(s.key);
      if (resumptions > (this.applied.get(s.key) ?? 0)) {
        this.applied.set(s.key, resumptions);
        this.watch?.forget(s.key);
        return;
      }
      if (!(await this.p.registry.suspend(s))) return;
    } catch (err) {
      this.p.log.error(`suspensions: cannot suspend ${s.key}: ${(err as Error).message}`);
      return;
    }
    this.known.add(s.key);
    const policy = this.p.policy();
    const ref = { name: policy.name, hash: policy.hash };
    const recent = rounded(s.measure, s.recent);
    const threshold = rounded(s.measure, s.threshold);
    this.p.append({
      kind: 'suspension', guard: s.guard, key: s.key, identity: { user: s.user, agent: s.agent }, measure: s.measure, recent,
      baseline: rounded(s.measure, s.baseline), threshold, ratio: s.ratio === null ? null : Math.round(s.ratio * 1000) / 1000,
      window_s: config.windowMs / 1000, baseline_s: config.baselineMs / 1000, policy: ref,
    });
    // Raised as a budget's alert_at is: a warning in the log and an alert record.
    this.p.log.warn(`guard '${s.guard}' suspended ${s.key}: ${divergenceText(s)}; lift it with '${resumeCommand(s)}'`);
    this.p.append({
      kind: 'alert', rule: s.guard, key: s.key, threshold: config.ratio, used: recent, limit: threshold, unit: s.measure === 'calls' ? 'requests' : s.measure,
      period_start: new Date(now - config.windowMs).toISOString(), policy: ref,
    });
    this.p.publish('suspension', viewOf(s));
  }

  /** Takes every watched identity's baseline from the ledger's hourly totals, once at a time. */
  refreshBaselines(): Promise<void> {
    const config = this.config;
    if (!config) return Promise.resolve();
    if (this.refreshing) {
      // Asked again while one runs: one more follows it, from the time it is asked at then.
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      const now = this.p.clock();
      this.refreshedAt = now;
      // The hours before the current one, back as far as the baseline reaches.
      const until = new Date(Math.floor(now / HOUR_MS) * HOUR_MS).toISOString();
      const since = new Date(now - config.baselineMs).toISOString();
      const next = new Map<string, Baseline>();
      for (const per of config.per) {
        const byKey = new Map<string, Amounts[]>();
        const rows = await this.p.hourly(per, { since, until });
        for (const row of rows) {
          const key = row.agent === null ? userKey(row.user) : agentKey(row.user, row.agent);
          let hours = byKey.get(key);
          if (!hours) byKey.set(key, (hours = []));
          hours.push({ calls: row.calls, tokens: row.tokens, usd: row.usd });
        }
        for (const [key, hours] of byKey) next.set(key, baselineOf(hours));
      }
      this.baselines = next;
      this.baselinesTaken = now;
    })()
      .catch((err: Error) => this.p.log.error(`divergence baselines: ${err.message}`))
      .finally(() => {
        this.refreshing = undefined;
        if (this.again) {
          this.again = false;
          void this.refreshBaselines();
        }
      });
    return this.refreshing;
  }
}
