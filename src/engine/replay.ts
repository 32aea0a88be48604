import { accumulatorKey } from './accumulator-key';
import type { Engine } from './decide';
import type { Usage } from './decision';
import type { ChargeOp, Hold } from './limiters/spec';
import { settledAmounts } from './settlement';
import type { HeldAmount } from './settlement';
import type { AccumulatorStore } from './store';

// Rebuilds accumulators from recorded decisions and settlements, the way they were charged live:
// a decision charges what it held, at its own time, and its settlement replaces that with what
// the call really cost (the same maths as Engine.settle). The ledger's reading is the caller's.

/** What replaying a decision reads of its record. */
export interface RecordedDecision {
  readonly id: string;
  readonly limits: readonly { readonly rule: string; readonly key: string; readonly before: number; readonly after: number; readonly limit?: number }[];
  readonly exception: { readonly id: string } | null;
  readonly identity: { readonly agent: string };
  readonly classification: readonly string[];
}

/** What replaying a settlement reads of its record; a usage count the upstream never reported is null. */
export interface RecordedSettle {
  readonly decision: string;
  readonly usage: { readonly input_tokens: number | null; readonly output_tokens: number | null; readonly cache_read_input_tokens?: number };
  readonly usd: number;
  /** Absent on records written before tool calls were counted, null when the response was not read. */
  readonly tool_calls?: number | null;
  readonly tool_names?: readonly string[];
}

export class Replay {
  private replayed = 0;
  private readonly open = new Map<string, { hold: Hold; held: HeldAmount[]; weight: number }>();

  constructor(
    private readonly engine: Engine,
    private readonly store: AccumulatorStore,
  ) {}

  /** Decisions replayed that charged something. */
  get decisions(): number {
    return this.replayed;
  }

  /** Decisions with no settlement replayed yet (a crash mid-call): they stay at their reserved worst case. */
  get unsettled(): number {
    return this.open.size;
  }

  /** Charges what a recorded decision held, forced (it was admitted then), under the policy in force now. */
  async decision(r: RecordedDecision, at: number): Promise<void> {
    const ops: ChargeOp[] = [];
    const held: HeldAmount[] = [];
    for (const l of r.limits) {
      if (l.after <= l.before) continue;
      const acc = this.engine.accumulatorFor(l.rule, r.exception?.id, r.identity.agent, l.limit);
      if (!acc) continue;
      ops.push({ key: accumulatorKey(l.rule, l.key), spec: acc.spec, amount: l.after - l.before, force: true });
      held.push({ unit: acc.unit, amount: l.after - l.before, skipsCacheReads: acc.skipsCacheReads, toolGlobs: acc.toolGlobs });
    }
    if (ops.length === 0) return;
    const result = await this.store.reserve(ops, at);
    if (!result.ok) return;
    this.replayed++;
    this.open.set(r.id, { hold: result.hold, held, weight: this.engine.weightOf(r.classification) });
  }

  /** Replaces a replayed decision's hold with what its call really cost. */
  async settle(r: RecordedSettle, at: number): Promise<void> {
    const open = this.open.get(r.decision);
    if (!open) return;
    this.open.delete(r.decision);
    const { input_tokens: input, output_tokens: output } = r.usage;
    const cached = r.usage.cache_read_input_tokens;
    const tools = typeof r.tool_calls === 'number' ? { tool_calls: r.tool_calls, tool_names: r.tool_names ?? [] } : {};
    const usage: Usage | undefined = input !== null && output !== null
      ? { input_tokens: input, output_tokens: output, ...(cached !== undefined ? { cache_read_input_tokens: cached } : {}), ...tools }
      : undefined;
    await this.store.settle(open.hold, settledAmounts(open.held, usage, open.weight, r.usd), at);
  }
}
