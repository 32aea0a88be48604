import { Engine } from '../engine/decide';
import type { Outcome, Usage } from '../engine/decision';
import type { Identity } from '../engine/identity/identity';
import { normalizeUser } from '../engine/identity/identity';
import type { DivergenceConfig, Policy } from '../engine/policy/model';
import { roundUsd } from '../contracts/audit-records';
import type { Amounts } from '../engine/divergence/baseline';
import { HourlyHistory } from '../engine/divergence/history';
import type { Suspension } from '../engine/divergence/suspension';
import { suspensionKeysOf, watchedIdentities } from '../engine/divergence/suspension';
import { DivergenceWatch } from '../engine/divergence/watch';
import { MemoryStore } from '../store/memory-store';
import { MCP_TOOL_CALL_USAGE } from '../engine/tools';
import type { ModelTrafficLine, TrafficLine } from './traffic';
import { callFor, isToolLine } from './traffic';

// Replays traffic through the engine's own decide() and settle(), with a fresh in-memory store
// and each line's time as the clock: the same rules the proxy enforces, never a second copy.

/** What one line came to under one policy. */
export interface LineResult {
  readonly outcome: Outcome;
  readonly rule: string | null;
  readonly reason: string;
  readonly usd: number;
  /** Declared tools the bundle would strip from the request (`on_undeclared: strip`). */
  readonly toolsStripped?: readonly string[];
}

export interface FirstRefusal {
  readonly time: string;
  /** The traffic file's line (1-based). */
  readonly line: number;
  readonly rule: string;
  readonly reason: string;
}

/** One person's replayed traffic. Field names are part of the JSON report's stable shape. */
export interface IdentityReport {
  user: string;
  agents: string[];
  roles: string[];
  requests: number;
  allowed: number;
  downgraded: number;
  refused: number;
  refused_by_rule: Record<string, number>;
  first_refusal: FirstRefusal | null;
  usd: number;
  input_tokens: number;
  output_tokens: number;
  /** Each declared tool the bundle would strip from this person's requests, with how many requests. */
  tools_stripped: Record<string, number>;
  /** MCP tools/call lines (`provider: "mcp"`) among this person's requests. */
  mcp_calls: number;
  /** Each MCP tool (`mcp__<server>__<tool>`) whose calls were refused, with how many. */
  mcp_refused: Record<string, number>;
}

export interface Totals {
  requests: number;
  allowed: number;
  downgraded: number;
  refused: number;
  refused_by_rule: Record<string, number>;
  usd: number;
}

/** Who guards.divergence would suspend, at which line, by which measure. Field names are part of the JSON report's stable shape. */
export interface SuspensionReport {
  /** `agent:<user>/<agent>` or `user:<user>`. */
  key: string;
  user: string;
  agent: string | null;
  /** The line whose call passed the threshold (its time); the identity's later lines are refused. */
  time: string;
  line: number;
  measure: 'calls' | 'tokens' | 'usd';
  recent: number;
  baseline: number;
  threshold: number;
  ratio: number | null;
}

export interface PolicyReport {
  readonly policy: { readonly name: string; readonly hash: string };
  readonly totals: Totals;
  readonly identities: IdentityReport[];
  /** Who guards.divergence suspends, in the order it happens (empty without the guard). */
  readonly suspensions: SuspensionReport[];
}

function emptyRow(user: string): IdentityReport {
  return { user, agents: [], roles: [], requests: 0, allowed: 0, downgraded: 0, refused: 0, refused_by_rule: {}, first_refusal: null, usd: 0, input_tokens: 0, output_tokens: 0, tools_stripped: {}, mcp_calls: 0, mcp_refused: {} };
}

/**
 * guards.divergence over a replay: each identity's baseline from the replayed traffic's own earlier
 * hours (the proxy takes it from the ledger's hourly totals), its window counted line by line; a
 * suspended identity's later lines are refused, as the proxy refuses them, since nobody resumes it.
 */
class DivergenceReplay {
  private readonly history: HourlyHistory;
  private readonly watch: DivergenceWatch;
  private readonly suspended = new Map<string, Suspension>();
  readonly suspensions: SuspensionReport[] = [];
  private now = 0;

  constructor(private readonly config: DivergenceConfig) {
    this.history = new HourlyHistory(config);
    this.watch = new DivergenceWatch(config, (key) => this.history.baselineAt(key, this.now));
  }

  suspensionOf(identity: Identity): Suspension | undefined {
    for (const key of suspensionKeysOf(identity)) {
      const s = this.suspended.get(key);
      if (s) return s;
    }
    return undefined;
  }

  count(identity: Identity, amounts: Amounts, time: number, line: number): void {
    this.now = time;
    for (const s of this.watch.count(identity, amounts, time)) {
      this.suspended.set(s.key, s);
      const round = (n: number): number => (s.measure === 'usd' ? roundUsd(n) : Math.round(n * 1000) / 1000);
      this.suspensions.push({
        key: s.key, user: s.user, agent: s.agent, time: new Date(time).toISOString(), line, measure: s.measure, recent: round(s.recent), baseline: round(s.baseline),
        threshold: round(s.threshold), ratio: s.ratio === null ? null : Math.round(s.ratio * 1000) / 1000,
      });
    }
    for (const who of watchedIdentities(identity, this.config.per)) this.history.add(who.key, time, amounts);
  }
}

/** The usage a model line settles at: its real output when it knows it, else none (the reserved worst case). */
function modelUsage(t: ModelTrafficLine, inputTokens: number): Usage | undefined {
  if (t.outputTokens === undefined) return undefined;
  return {
    input_tokens: inputTokens, output_tokens: t.outputTokens,
    ...(t.cacheReadTokens !== undefined ? { cache_read_input_tokens: t.cacheReadTokens } : {}),
    ...(t.cacheWriteTokens !== undefined ? { cache_write_input_tokens: t.cacheWriteTokens } : {}),
    ...(t.toolCalls !== undefined ? { tool_calls: t.toolCalls } : {}),
  };
}

export class Replay {
  private readonly engine: Engine;
  private readonly divergence: DivergenceReplay | undefined;
  private readonly rows = new Map<string, IdentityReport>();
  /** One Identity object per person and agent: the engine caches keys and entitlements per object. */
  private readonly identities = new Map<string, Identity>();
  private readonly totals: Totals = { requests: 0, allowed: 0, downgraded: 0, refused: 0, refused_by_rule: {}, usd: 0 };

  constructor(readonly policy: Policy) {
    this.engine = new Engine(policy, new MemoryStore());
    this.divergence = policy.guards.divergence ? new DivergenceReplay(policy.guards.divergence) : undefined;
  }

  private identityOf(t: TrafficLine): Identity {
    const user = normalizeUser(t.user);
    const agent = t.agent ?? 'default';
    const cacheKey = t.roles ? `${user}\n${agent}\n${t.roles.join('\n')}` : `${user}\n${agent}`;
    let id = this.identities.get(cacheKey);
    if (!id) {
      const roles = t.roles ?? this.policy.identity.roles.get(user) ?? [];
      id = { user, agent, session: `simulate:${user}`, roles, issuer: 'simulate' };
      this.identities.set(cacheKey, id);
    }
    return id;
  }

  async step(t: TrafficLine, line: number): Promise<LineResult> {
    const identity = this.identityOf(t);
    const call = callFor(this.policy, t, line);
    const tool = isToolLine(t);
    // The MCP gateway decides a tools/call as the proxy does: without a trace (MCP requests carry
    // none), refused while its identity is suspended, and counted in its guards.divergence window.
    const divergence = this.divergence;
    const suspension = divergence?.suspensionOf(identity);
    const d = await this.engine.decide({ identity, call, trace: tool ? undefined : t.trace, declaredLabels: t.classification, suspension }, t.time);
    // Every decided call counts, refused ones too, as the proxy counts them; not the suspension's own refusals.
    if (!suspension) divergence?.count(identity, { calls: 1, tokens: 0, usd: 0 }, t.time, line);
    let row = this.rows.get(identity.user);
    if (!row) {
      row = emptyRow(identity.user);
      row.roles = [...identity.roles];
      this.rows.set(identity.user, row);
    }
    if (!row.agents.includes(identity.agent)) row.agents.push(identity.agent);
    row.requests++;
    this.totals.requests++;
    if (tool) row.mcp_calls++;
    if (d.outcome === 'refuse') {
      row.refused++;
      this.totals.refused++;
      const rule = d.rule ?? 'unknown';
      row.refused_by_rule[rule] = (row.refused_by_rule[rule] ?? 0) + 1;
      this.totals.refused_by_rule[rule] = (this.totals.refused_by_rule[rule] ?? 0) + 1;
      if (call.tool) row.mcp_refused[call.tool] = (row.mcp_refused[call.tool] ?? 0) + 1;
      if (!row.first_refusal) row.first_refusal = { time: new Date(t.time).toISOString(), line, rule, reason: d.reason };
      return { outcome: d.outcome, rule: d.rule, reason: d.reason, usd: 0 };
    }
    // The call ran: charge its real output when the line knows it, else the reserved worst case,
    // as the proxy does for a call whose usage never arrived.
    const usage = tool ? MCP_TOOL_CALL_USAGE : modelUsage(t, call.inputTokens);
    for (const stripped of d.strippedTools ?? []) row.tools_stripped[stripped] = (row.tools_stripped[stripped] ?? 0) + 1;
    const s = await this.engine.settle(d, usage, t.time);
    divergence?.count(identity, { calls: 0, tokens: s.usage.input_tokens + s.usage.output_tokens, usd: s.usd }, t.time, line);
    if (d.outcome === 'downgrade') {
      row.downgraded++;
      this.totals.downgraded++;
    } else {
      row.allowed++;
      this.totals.allowed++;
    }
    row.usd += s.usd;
    this.totals.usd += s.usd;
    row.input_tokens += s.usage.input_tokens;
    row.output_tokens += s.usage.output_tokens;
    return { outcome: d.outcome, rule: d.rule, reason: d.reason, usd: s.usd, ...(d.strippedTools ? { toolsStripped: d.strippedTools } : {}) };
  }

  report(): PolicyReport {
    const identities = [...this.rows.values()].sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
    return { policy: { name: this.policy.name, hash: this.policy.hash }, totals: this.totals, identities, suspensions: this.divergence?.suspensions ?? [] };
  }
}
