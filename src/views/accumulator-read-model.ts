import { accumulatorKey } from '../engine/accumulator-key';
import type { Engine } from '../engine/decide';
import type { AccumulatorStore } from '../engine/store';
import type { CallEvents } from '../pipeline/call-events';
import type { AccumulatorView } from '../contracts/admin';

/** An accumulator the views list: which rule, for which identity key, counted in what. */
export interface AccumulatorRef {
  readonly rule: string;
  readonly kind: AccumulatorView['kind'];
  readonly key: string;
  readonly unit: AccumulatorView['unit'];
}

/**
 * The accumulators the views list (the dashboard and the status bar): every one a decision
 * touched, live or recorded in the ledger before a restart. It holds no amounts (those are read
 * from the store when a snapshot is taken), so it is the same whichever store keeps the state.
 * Bounded: past `capacity`, the longest known is forgotten first.
 */
export class AccumulatorReadModel {
  private readonly seen = new Map<string, AccumulatorRef>();

  constructor(private readonly capacity = 5_000) {}

  /** Lists the accumulators of every decision the pipeline makes. */
  subscribe(events: CallEvents): void {
    events.on('decided', (e) => {
      for (const l of e.call.decision.limits) this.note(l);
    });
  }

  note(ref: AccumulatorRef): void {
    const k = accumulatorKey(ref.rule, ref.key);
    if (this.seen.has(k)) return;
    if (this.seen.size >= this.capacity) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(k, { rule: ref.rule, kind: ref.kind, key: ref.key, unit: ref.unit });
  }

  /**
   * Notes the accumulators a recorded decision touched, as the bundle in force defines them: a
   * record names only rule and key. A rule the bundle no longer has is left out.
   */
  noteRecorded(limits: readonly { readonly rule: string; readonly key: string }[], engine: Pick<Engine, 'policy' | 'accumulatorFor'>): void {
    for (const l of limits) {
      const acc = engine.accumulatorFor(l.rule);
      if (!acc) continue;
      const p = engine.policy;
      const kind = p.budgets.some((b) => b.id === l.rule) ? 'budget' : p.limits.some((x) => x.id === l.rule) ? 'limit' : 'guard';
      this.note({ rule: l.rule, kind, key: l.key, unit: acc.unit });
    }
  }

  list(): readonly AccumulatorRef[] {
    return [...this.seen.values()];
  }

  /** Each listed accumulator the bundle in force still keeps, with what it holds in `store` now. */
  async view(engine: Pick<Engine, 'policy' | 'accumulatorFor'>, store: Pick<AccumulatorStore, 'peek'>, now: number): Promise<AccumulatorView[]> {
    const peekable = this.list()
      .map((ref) => ({ ref, acc: engine.accumulatorFor(ref.rule) }))
      .filter((x): x is { ref: AccumulatorRef; acc: NonNullable<typeof x.acc> } => x.acc !== undefined);
    const states = await store.peek(peekable.map((x) => ({ key: accumulatorKey(x.ref.rule, x.ref.key), spec: x.acc.spec })), now);
    const out: AccumulatorView[] = [];
    peekable.forEach(({ ref }, i) => {
      const s = states[i];
      if (!s) return;
      const budget = engine.policy.budgets.find((b) => b.id === ref.rule);
      out.push({ rule: ref.rule, kind: ref.kind, key: ref.key, unit: ref.unit, used: s.before, limit: s.limit, alertAt: budget?.alertAt });
    });
    return out;
  }
}
