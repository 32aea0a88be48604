// What the ledger's query index answers: rows the admin API serves and the views show.

import type { DecisionOutcome } from './audit-records';

export interface DecisionSummary {
  id: string;
  seq: number;
  time: string;
  user: string;
  agent: string;
  model: string;
  model_served: string | null;
  provider: string;
  route: string;
  outcome: DecisionOutcome;
  status: number;
  rule: string | null;
  shadow: boolean;
  settled: boolean;
  /** Settled cost, else the reserved worst case (0 for a refusal that held nothing). */
  usd: number;
}

/** `user-day`, `agent-day` and `model-day`: spend over time, one row per UTC day and key, keyed `<day> <key>`. */
export type SpendDimension = 'user' | 'agent' | 'model' | 'day' | 'user-day' | 'agent-day' | 'model-day';

export interface SpendRow {
  /** The user, `user/agent` (an agent belongs to its person), the model served, or the UTC day; the day, a space and one of those. */
  key: string;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  usd: number;
}

/** Totals per identity and hour, for baselines: `user` per person, `agent` per (user, agent). */
export type HourlyDimension = 'user' | 'agent';

export interface HourlyRow {
  user: string;
  /** The agent, for `agent` rows; null for a person's. */
  agent: string | null;
  /** The hour's start, `2026-11-23T09` (UTC). */
  hour: string;
  calls: number;
  tokens: number;
  usd: number;
}

export interface TimeRange {
  since?: string;
  until?: string;
}

/**
 * Tool calls grouped one way: `agent` keys on `user/agent`, `server` on the MCP server's name,
 * `tool` on `<server>/<tool>` (the server's own name for the tool).
 */
export interface ToolCallRow {
  key: string;
  /** MCP tools/call decisions through the gateway. */
  calls: number;
  /** Of those, the refused ones (a shadow refusal let the call through and is not counted). */
  refused: number;
  /** `agent` rows: the tool calls models asked for in their responses (settle records' `tool_calls`); 0 for the other groupings. */
  model_tool_calls: number;
}

export interface ToolCallGroups {
  byAgent: ToolCallRow[];
  byServer: ToolCallRow[];
  byTool: ToolCallRow[];
}

/** A refused MCP tools/call, newest first. */
export interface ToolRefusalSummary {
  id: string;
  time: string;
  user: string;
  agent: string;
  server: string;
  /** The server's own name for the tool. */
  tool: string;
  rule: string | null;
  status: number;
}

/** Tool calls per UTC day `today` and over the days from `since` (a UTC day) on, and the newest refused MCP calls. */
export interface ToolActivityQuery {
  today: string;
  since: string;
  refusals: number;
}

export interface ToolActivity {
  today: ToolCallGroups;
  window: ToolCallGroups;
  refusals: ToolRefusalSummary[];
}
