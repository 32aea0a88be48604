// The admin/state API the views read, served by the proxy on its own port under ADMIN_PREFIX.
// Every route needs `Authorization: Bearer <admin token>`; the token is the file ADMIN_TOKEN_FILE
// in the proxy's data dir (mode 0600). The extension host and the CLI import these types; the
// webview gets them through src/protocol.ts.

import type { PendingApprovalsResponse } from './approvals';
import type { DecisionSummary, SpendRow, ToolActivity } from './ledger-queries';

export const ADMIN_PREFIX = '/_tollgate';
export const ADMIN_TOKEN_FILE = 'admin-token';

/** GET /_tollgate/health */
export interface HealthResponse {
  readonly ok: boolean;
  readonly version: string;
  readonly policy: { readonly name: string; readonly hash: string; readonly source: string };
  /** The last policy edit that was rejected, while the previous bundle stays in force. */
  readonly policyError?: { readonly source: string; readonly errors: readonly string[] };
  readonly ledger: { readonly ok: boolean; readonly reason?: string };
  readonly shadow: boolean;
}

/** How many UTC days, today included, the snapshot's spend over time covers. */
export const SPEND_HISTORY_DAYS = 30;

/** One accumulator as the views show it. */
export interface AccumulatorView {
  readonly rule: string;
  readonly kind: 'limit' | 'budget' | 'guard';
  /** The identity key: `user:alice@acme.dev`, `agent:alice@acme.dev/notebook`, `role:ml-engineers`. */
  readonly key: string;
  readonly unit: 'requests' | 'tokens' | 'usd' | 'tool_calls';
  readonly used: number;
  readonly limit: number;
  /** Budgets only: the alert thresholds, as fractions of the limit. */
  readonly alertAt?: readonly number[];
}

/** GET /_tollgate/state: one whole snapshot, so a view never merges partial updates. */
export interface StateSnapshot {
  readonly time: string;
  readonly health: HealthResponse;
  readonly accumulators: readonly AccumulatorView[];
  readonly recent: readonly DecisionSummary[];
  readonly spend: {
    readonly byUser: readonly SpendRow[];
    readonly byAgent: readonly SpendRow[];
    readonly byModel: readonly SpendRow[];
    readonly byDay: readonly SpendRow[];
    /**
     * Spend per UTC day over the last SPEND_HISTORY_DAYS days, by person, agent and model: rows keyed
     * `<day> <key>`. Absent from a proxy older than this field.
     */
    readonly overTime?: {
      readonly byUser: readonly SpendRow[];
      readonly byAgent: readonly SpendRow[];
      readonly byModel: readonly SpendRow[];
    };
  };
  /** Spend today (UTC) across every identity, USD. */
  readonly todayUsd: number;
  /** The limits and budgets of the bundle in force. Absent from a proxy older than this field. */
  readonly rules?: readonly RuleSummary[];
  /** Identities suspended by guards.divergence (the team's, in team mode). Absent when they cannot be read, or from a proxy older than this field. */
  readonly suspensions?: readonly SuspensionView[];
  /**
   * Tool calls today and over the last SPEND_HISTORY_DAYS days (MCP tools/calls by agent, server and
   * tool with their refusals; per agent also the tool calls models asked for), and the newest
   * refused MCP calls. Absent from a proxy older than this field.
   */
  readonly tools?: ToolActivity;
  /** MCP calls waiting for a person's approval (tools.approval). Absent where nothing can hold a call for approval. */
  readonly approvals?: PendingApprovalsResponse;
}

/** How many of the newest refused MCP tool calls a snapshot lists. */
export const TOOL_REFUSALS_SHOWN = 20;

/** One limit or budget of the bundle in force, as a line for people. */
export interface RuleSummary {
  readonly id: string;
  readonly kind: 'limit' | 'budget';
  /** What it counts per: `user`, `agent`, `role`, or several joined with `+`. */
  readonly per: string;
  /** `120/min requests, burst 60`; `$5 per day, then downgrade to gpt-4o-mini, alerts at 50% / 80%`. */
  readonly text: string;
}

/**
 * GET /_tollgate/events: server-sent events, each the payload under its event name. `event:
 * decision` carries a DecisionSummary as soon as its record is durable; `event: settle` a
 * DecisionSummary once settled; `event: policy` a HealthResponse when a bundle is loaded or
 * rejected; `event: suspension` and `event: resumption` a SuspensionView; `event: revocation` a
 * RevocationView. A comment line every 15 s keeps it open.
 */
export type AdminEvent =
  | { readonly type: 'decision'; readonly decision: DecisionSummary }
  | { readonly type: 'settle'; readonly decision: DecisionSummary }
  | { readonly type: 'policy'; readonly health: HealthResponse }
  | SuspensionEvent
  | RevocationEvent;

/** `event: suspension` (an identity suspended) and `event: resumption` (lifted), each carrying a SuspensionView. */
export interface SuspensionEvent {
  readonly type: 'suspension' | 'resumption';
  readonly suspension: SuspensionView;
}

/** `event: revocation`: a revocation the proxy took into force (the data dir's list, or the team's). */
export interface RevocationEvent {
  readonly type: 'revocation';
  readonly revocation: RevocationView;
}

/**
 * A revocation as the stream announces it: which tokens it refuses from the next request. Names a
 * token by its id, never the token itself.
 */
export interface RevocationView {
  /** `rv_...`, as the ledger's revocation record names it. */
  readonly id: string;
  /** One token, a signing key, or every token of a person, agent or session issued up to `revoked_at`. */
  readonly target: 'token' | 'user' | 'agent' | 'session' | 'key';
  /** The token id (jti), person, agent, session id or key id. */
  readonly value: string;
  /** For an agent: the one person whose agent it is, or null for the agent of everyone. */
  readonly user: string | null;
  /** When it was made (ISO 8601 UTC). */
  readonly revoked_at: string;
  readonly reason: string | null;
}

/**
 * A suspended identity (guards.divergence), as GET /_tollgate/suspensions lists it and the event
 * stream announces it (`event: suspension` when suspended, `event: resumption` when lifted).
 */
export interface SuspensionView {
  /** `agent:<user>/<agent>` or `user:<user>`. */
  readonly key: string;
  readonly user: string;
  /** The agent of a per-agent suspension; null for the person. */
  readonly agent: string | null;
  /** The guard's id: `divergence`. */
  readonly guard: string;
  readonly measure: 'calls' | 'tokens' | 'usd';
  readonly recent: number;
  readonly baseline: number;
  readonly threshold: number;
  readonly ratio: number | null;
  /** When it was suspended (ISO 8601 UTC). */
  readonly since: string;
  /** The command that lifts it. */
  readonly resume: string;
}

/** GET /_tollgate/suspensions */
export interface SuspensionsResponse {
  readonly suspensions: readonly SuspensionView[];
  /** When the guard last took its baselines from the ledger (every few minutes); null before the first, or with guards.divergence off. */
  readonly baselines_at: string | null;
}

/** POST /_tollgate/identity/resume: `{ "user": U }` lifts the person's suspension, `{ "agent": A }` (and `user`) an agent's. */
export interface ResumeRequest {
  readonly user?: string;
  readonly agent?: string;
}

/** Its answer: the suspensions lifted (none: 404). */
export interface ResumeResponse {
  readonly resumed: readonly SuspensionView[];
}
/** `POST /_tollgate/mcp/approve` with `{ server, tool, by }`: a person approves a changed MCP tool definition. */
export const TOOL_APPROVAL_PATH = '/mcp/approve';

export interface ToolApprovalRequest {
  server: string;
  /** The server's own name for the tool. */
  tool: string;
  /** Who approves, as the ledger names them. */
  by: string;
}

export type ToolApprovalResponse =
  | { ok: true; sha256: string; previous_sha256: string }
  | { ok: false; reason: 'unknown-tool' | 'nothing-pending'; message: string };
