// The `tollgate.agentScopes` setting: per coding agent, what its own token may do (models, routes,
// tools, a USD cap over the token's life) and how long it lives. Each entry is checked the way
// `tollgate token` checks its flags and the proxy reads the claim, so the editor never signs a
// scope the proxy would refuse. An entry that does not read is not dropped: the agent it names is
// refused a token (never handed the window's unscoped one), and the problem is said.

import type { AgentName } from '../../agents/agents';
import { AGENT_NAMES, isAgentChoice } from '../../agents/agents';
import type { TokenScope } from '../../engine/identity/token-scope';
import { MAX_CAPPED_TOKEN_TTL_MS, ScopeError, scopedLifetimeProblem, usdCapProblem, validateScope } from '../../engine/identity/token-scope';

/** The shortest lifetime a setting may ask for: long enough to be renewed in time by a check every five minutes. */
export const MIN_AGENT_TOKEN_TTL_HOURS = 0.5;
/** The longest, as for the window's token. */
export const MAX_AGENT_TOKEN_TTL_HOURS = 720;

const FIELDS = ['models', 'routes', 'tools', 'maxUsd', 'ttlHours'] as const;

/** One agent's narrowed token, as the setting asks for it. */
export interface AgentScope {
  readonly agent: AgentName;
  /** Undefined when the entry only shortens the lifetime. */
  readonly scope: TokenScope | undefined;
  readonly ttlHours: number | undefined;
}

/** An entry of the setting that does not read; `agent` is the key as written. */
export class AgentScopeError extends Error {
  readonly reason = 'invalid-agent-scope' as const;
  constructor(
    readonly agent: string,
    detail: string,
  ) {
    super(`tollgate.agentScopes["${agent.slice(0, 40)}"]: ${detail}`);
    this.name = 'AgentScopeError';
  }
  static is(err: unknown): err is AgentScopeError {
    return err instanceof AgentScopeError;
  }
}

export interface AgentScopeSettings {
  readonly scoped: readonly AgentScope[];
  /** Entries that do not read. Those naming a known agent leave it without a token. */
  readonly problems: readonly AgentScopeError[];
}

/** The agents whose entry does not read: each is handed the placeholder instead of a token. */
export function refusedAgents(settings: AgentScopeSettings): AgentName[] {
  return settings.problems.map((p) => p.agent).filter(isAgentChoice);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One entry, or throws naming what is wrong with it. */
export function parseAgentScope(agent: AgentName, raw: unknown): AgentScope {
  const fail = (detail: string): never => {
    throw new AgentScopeError(agent, detail);
  };
  if (!isRecord(raw)) return fail('is not an object ({ "models": ["gpt-4o-mini"], "maxUsd": 2 })');
  const unknown = Object.keys(raw).filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) fail(`unknown field '${unknown[0]!.slice(0, 40)}' (use ${FIELDS.join(', ')})`);
  const scope: { models?: readonly string[]; routes?: readonly string[]; tools?: readonly string[]; maxUsd?: number } = {};
  for (const field of ['models', 'routes', 'tools'] as const) {
    const v = raw[field];
    if (v === undefined) continue;
    if (!Array.isArray(v)) fail(`${field} is not a list of strings`);
    scope[field] = v as string[];
  }
  if (raw.maxUsd !== undefined) {
    const usd = raw.maxUsd;
    if (typeof usd !== 'number' || usdCapProblem(usd)) fail(`maxUsd ${usdCapProblem(typeof usd === 'number' ? usd : Number.NaN)}`);
    scope.maxUsd = usd as number;
  }
  let ttlHours: number | undefined;
  if (raw.ttlHours !== undefined) {
    const h = raw.ttlHours;
    if (typeof h !== 'number' || !Number.isFinite(h) || h < MIN_AGENT_TOKEN_TTL_HOURS || h > MAX_AGENT_TOKEN_TTL_HOURS) {
      fail(`ttlHours is not a number of hours from ${MIN_AGENT_TOKEN_TTL_HOURS} to ${MAX_AGENT_TOKEN_TTL_HOURS}`);
    }
    ttlHours = h as number;
  }
  let checked: TokenScope | undefined;
  try {
    checked = validateScope(scope);
  } catch (err) {
    if (ScopeError.is(err)) fail(err.message);
    throw err;
  }
  if (ttlHours !== undefined) {
    const problem = scopedLifetimeProblem(checked, ttlHours * 3_600_000);
    if (problem) fail(`ttlHours ${problem}`);
  }
  if (checked === undefined && ttlHours === undefined) fail('names no model, route, tool, USD cap or lifetime');
  return { agent, scope: checked, ttlHours };
}

/** The whole setting. Never throws: what does not read is in `problems`. */
export function parseAgentScopes(raw: unknown): AgentScopeSettings {
  if (raw === undefined || raw === null) return { scoped: [], problems: [] };
  // Unreadable as a whole, it cannot say which agents it meant to narrow: none is handed a token.
  if (!isRecord(raw)) return { scoped: [], problems: AGENT_NAMES.map((a) => new AgentScopeError(a, 'the setting is not an object keyed by agent name')) };
  const scoped: AgentScope[] = [];
  const problems: AgentScopeError[] = [];
  for (const [agent, entry] of Object.entries(raw)) {
    if (!isAgentChoice(agent)) {
      problems.push(new AgentScopeError(agent, 'is not an agent the editor routes (claude-code, codex, gemini-cli)'));
      continue;
    }
    try {
      scoped.push(parseAgentScope(agent, entry));
    } catch (err) {
      if (!AgentScopeError.is(err)) throw err;
      problems.push(err);
    }
  }
  return { scoped, problems };
}

/**
 * How long an agent's token lives: what its entry asks, never longer than the window's token has
 * left (signing out or a new identity ends both), and at most a day with a USD cap.
 */
export function agentTokenTtlMs(entry: AgentScope, windowTtlMs: number): number {
  const asked = entry.ttlHours !== undefined ? entry.ttlHours * 3_600_000 : windowTtlMs;
  const ttl = Math.min(asked, windowTtlMs);
  return scopedLifetimeProblem(entry.scope, ttl) ? MAX_CAPPED_TOKEN_TTL_MS : ttl;
}
