import { budgetPeriodStart } from '../../engine/limiters/calendar';
import type { Policy } from '../../engine/policy/model';
import type { CallEvents, Recording } from '../../pipeline/call-events';
import type { DecidedCall } from '../../pipeline/call-context';
import { roundUsd } from '../../contracts/audit-records';
import { decisionBody, errorBody, releasedBody, settleBody, summaryOf } from './call-records';
import type { DecisionSummary } from '../../contracts/ledger-queries';
import type { AppendedRecord, Ledger, Sealed } from './ledger';
import type { DecisionBody, LedgerEntry, PolicyRef } from '../../contracts/audit-records';
import { RefusalDigest } from './refusal-digest';
import type { RefusalKey } from './refusal-digest';

export interface RecorderParts {
  /** The bundle in force now: named in records of calls refused before their own was known. */
  readonly policy: () => Policy;
  readonly shadow: boolean;
  readonly clock: () => number;
  readonly log: { warn(message: string): void; error(message: string): void };
  /** A decision became durable, or a call was settled: what the views' event stream carries. */
  readonly published: (event: 'decision' | 'settle', summary: DecisionSummary) => void;
}

/** A forwarded call's decision record, and the seq it was sealed at once durable. */
interface OpenCall {
  readonly record: AppendedRecord<DecisionBody>;
  seq: number;
}

/**
 * The ledger's side of the call pipeline: appends a record for each call event that has one,
 * hands the pipeline back what it appended (the call is answered with the record's id once it is
 * durable), and tells the views when a record is durable.
 */
export class CallRecorder {
  private readonly digest: RefusalDigest;
  private readonly open = new WeakMap<DecidedCall, OpenCall>();

  constructor(
    private readonly ledger: Ledger,
    private readonly o: RecorderParts,
  ) {
    this.digest = new RefusalDigest(
      (body) => {
        const appended = this.append(body);
        return appended ? appended.durable.then(() => appended.record.id) : Promise.reject(new Error('the ledger is unavailable'));
      },
      () => refOf(this.o.policy()),
    );
  }

  subscribe(events: CallEvents): void {
    events.on('unverified', (e) => e.countedIn(this.countUnverified({ status: e.status, reason: e.reason, provider: e.provider })));
    events.on('failed', (e) => {
      const where = { provider: e.call.route.provider, route: e.call.route.path };
      e.recordedAs(this.record(errorBody({ status: e.status, reason: e.message, ...where, identity: e.call.identity, policy: refOf(this.o.policy()), shadow: this.o.shadow })));
    });
    events.on('refused', (e) => e.recordedAs(this.record(decisionBody(e.call.decision, e.call.decision.status))));
    events.on('released', (e) => e.recordedAs(this.record(releasedBody(e.call.decision, e.status))));
    events.on('forwarded', (e) => {
      const entry = decisionBody(e.call.decision, 200);
      if (e.note) entry.reason = `${entry.reason} (${e.note})`;
      const appended = this.append(entry);
      if (!appended) return e.recordedAs({ ok: false, problem: this.problem() });
      const open: OpenCall = { record: appended.record, seq: 0 };
      this.open.set(e.call, open);
      const durable = appended.durable.then(
        (sealed) => {
          open.seq = sealed.seq;
          this.o.published('decision', summaryOf(appended.record, sealed.seq));
          return true;
        },
        () => false,
      );
      e.recordedAs({ ok: true, id: appended.record.id, durable });
    });
    events.on('settled', (e) => {
      const open = this.open.get(e.call);
      if (!open) return;
      this.open.delete(e.call);
      const s = e.settlement;
      // The client has its answer: the settle may share the next decision's commit (journal.ts).
      const appended = this.append(settleBody(open.record.id, s, e.status, e.aborted), { lazy: true });
      for (const a of s.alerts) {
        this.o.log.warn(`budget '${a.rule}' for ${a.key} crossed ${Math.round(a.threshold * 100)}%: $${a.spent_usd.toFixed(4)} of $${a.limit_usd}`);
        const periodStart = budgetPeriodStart(this.o.policy().budgets, a.rule, this.o.clock());
        this.append({
          kind: 'alert', rule: a.rule, key: a.key, threshold: a.threshold, used: roundUsd(a.spent_usd), limit: a.limit_usd, unit: 'usd',
          period_start: new Date(periodStart).toISOString(), policy: open.record.policy,
        });
      }
      void appended?.durable.then(() => this.o.published('settle', summaryOf(open.record, open.seq, { usd: s.usd })), () => undefined);
    });
  }

  /** Counts a request refused before any identity was verified; resolves with its record's id once durable. */
  countUnverified(key: RefusalKey): Promise<string> {
    return this.digest.add(key);
  }

  /** Appends any entry; undefined (and logged) when the ledger takes none. */
  append<E extends LedgerEntry>(entry: E, options: { lazy?: boolean } = {}): { record: AppendedRecord<E>; durable: Promise<Sealed> } | undefined {
    try {
      const r = this.ledger.append(entry, options);
      r.durable.catch((err: Error) => this.o.log.error(`ledger: ${err.message}`));
      return r;
    } catch (err) {
      this.o.log.error(`ledger: ${(err as Error).message}`);
      return undefined;
    }
  }

  /**
   * Appends a decision made outside the call pipeline (an MCP tools/call): the views hear of it
   * once it is durable, as they hear of the pipeline's.
   */
  appendDecision(body: DecisionBody): { record: AppendedRecord<DecisionBody>; durable: Promise<Sealed> } | undefined {
    const appended = this.append(body);
    void appended?.durable.then((sealed) => this.o.published('decision', summaryOf(appended.record, sealed.seq)), () => undefined);
    return appended;
  }

  /** Writes the refusals counted so far (on shutdown, so no refused client waits on a closed ledger). */
  flush(): void {
    this.digest.flush();
  }

  /** A decision record the views hear of once it is durable. */
  private record(body: DecisionBody): Recording {
    const appended = this.append(body);
    if (!appended) return { ok: false, problem: this.problem() };
    const durable = appended.durable.then(
      (sealed) => {
        this.o.published('decision', summaryOf(appended.record, sealed.seq));
        return true;
      },
      () => false,
    );
    return { ok: true, id: appended.record.id, durable };
  }

  private problem(): string {
    const health = this.ledger.health;
    return health.ok ? 'ledger closed' : health.reason;
  }
}

function refOf(p: Policy): PolicyRef {
  return { name: p.name, hash: p.hash };
}
