import type { ApprovalRecord } from './approvals';

// The audit record kinds, field for field as the export contract in docs/product.md ("Audit
// records") names them. Auditors and finance read these names: change them only with the contract.
// Every field is present on every record of its kind (null when it does not apply), so CSV columns
// and hashes never depend on whether a producer omitted or nulled a field.

/** A bundle as a record names it: its `name` and the hash of its content. */
export interface PolicyRef {
  name: string;
  hash: string;
}

export interface DecisionIdentity {
  user: string;
  agent: string;
  session: string | null;
  roles: string[];
}

/** One matching limit or budget, with its accumulator before and after this decision. */
export interface LimitState {
  rule: string;
  key: string;
  before: number;
  after: number;
  limit: number;
}

export interface TokenAmounts {
  input_tokens: number;
  output_tokens: number;
}

export type DecisionOutcome = 'allow' | 'refuse' | 'downgrade' | 'error';

export interface DecisionBody {
  kind: 'decision';
  outcome: DecisionOutcome;
  /** True when the proxy runs with --shadow: recorded, but nothing was refused. */
  shadow: boolean;
  /** The HTTP status the client got. */
  status: number;
  identity: DecisionIdentity;
  classification: string[];
  provider: string;
  route: string;
  model: string;
  /** The model actually sent upstream (differs from `model` after a downgrade); null when none was. */
  model_served: string | null;
  /** The W3C trace id the call belonged to, if any. */
  trace: string | null;
  /** The refusing rule's id, or null. */
  rule: string | null;
  reason: string;
  exception: { id: string; reason: string } | null;
  /** The worst case held before the call; a decision without a settle record counts at this. */
  reserved: TokenAmounts & { usd: number };
  limits: LimitState[];
  policy: PolicyRef;
  /** An MCP tools/call: the tool as agents name it (`mcp__<server>__<tool>`); null for a model call. */
  tool: string | null;
  /** sha256 (hex) of the canonical JSON of the tool call's arguments; null for a model call. */
  arguments_sha256: string | null;
  /** The arguments, redacted by the key scanner's rules, where `tools.record_arguments` names the tool; else null. */
  arguments: unknown;
  /** Declared tools outside the identity's list, removed before the call went upstream (`on_undeclared: strip`); null when none was. */
  tools_stripped: string[] | null;
  /** An MCP call of a tool under `tools.approval` that was put to its approval: who approved it, or why not; null for every other record. */
  approval: ApprovalRecord | null;
}

export interface SettleBody {
  kind: 'settle';
  /** The decision record's id. */
  decision: string;
  /**
   * Real usage; a count the upstream never reported is null (unknown is not zero). `input_tokens`
   * is all input, cached included, `output_tokens` all output, reasoning included; the parts
   * billed at their own prices are present where the provider reports them.
   */
  usage: { input_tokens: number | null; output_tokens: number | null; cache_read_input_tokens?: number; cache_write_input_tokens?: number; reasoning_output_tokens?: number };
  usd: number;
  status: number;
  /** True when the client went away or the upstream broke off before the end. */
  aborted: boolean;
  /** An MCP tools/call: milliseconds from the decision to the server's answer; null for a model call. */
  duration_ms: number | null;
  /** An MCP tools/call: whether the tool reported an error (`isError`) or the server answered with one; null for a model call. */
  is_error: boolean | null;
  /** Tool calls the response asked for (0 when none); null when the response was never read. */
  tool_calls: number | null;
  /** The name of each of those calls, in order, at most the first 64; empty when none. */
  tool_names: string[];
}

export interface PolicyEventBody {
  kind: 'policy';
  event: 'loaded' | 'rejected';
  /** The bundle's name (null when it could not be read far enough to know) and content hash. */
  policy: { name: string | null; hash: string };
  /** Where the bundle came from (a file path). */
  source: string;
  /** Why it was rejected, as `FILE:LINE:COL: message` lines; empty when loaded. */
  errors: string[];
}

export interface AlertBody {
  kind: 'alert';
  /** The budget's id. */
  rule: string;
  /** The accumulator key (e.g. the user) whose spend crossed the threshold. */
  key: string;
  /** The `alert_at` fraction crossed. */
  threshold: number;
  used: number;
  limit: number;
  unit: 'requests' | 'tokens' | 'usd';
  /** Start of the budget period the alert belongs to (ISO 8601 UTC); alerts fire once per period. */
  period_start: string;
  policy: PolicyRef;
}

/**
 * Appended by `tollgate audit prune`: it stands for every record up to `pruned.last_seq`, which
 * may since have been deleted. The first record kept links to `pruned.last_hash`, and this
 * record's signature vouches for that link, so the chain stays verifiable after pruning.
 */
export interface CheckpointBody {
  kind: 'checkpoint';
  pruned: {
    /** The cut-off given to prune (ISO 8601 UTC). */
    before: string;
    last_seq: number;
    last_hash: string;
    last_time: string | null;
    /** Records this prune removed. */
    count: number;
  };
}

/**
 * Requests refused before any identity was verified (no or a bad token, an unroutable path, a web
 * page), counted per kind over a window of about a second: one record each would let any local
 * process fill the disk with signed records. Each refused client is sent this record's id.
 */
export interface RefusalsBody {
  kind: 'refusals';
  window: { from: string; to: string };
  counts: { status: number; reason: string; provider: string; count: number }[];
  policy: PolicyRef;
}

/** An identity a suspension stands on: a person, or one of their agents (`agent` null for the person). */
export interface SuspendedIdentity {
  user: string;
  agent: string | null;
}

/**
 * A guard suspended an identity (guards.divergence): its calls are refused from the next one on
 * until it is resumed. The numbers are what it passed: in `measure`'s unit, over the bundle's window.
 */
export interface SuspensionBody {
  kind: 'suspension';
  /** The guard's id (`divergence`), as refusals name it in `rule`. */
  guard: string;
  /** The identity key: `agent:<user>/<agent>` or `user:<user>`. */
  key: string;
  identity: SuspendedIdentity;
  measure: 'calls' | 'tokens' | 'usd';
  /** What the identity did in the window. */
  recent: number;
  /** Its usual amount for a window: the median per active hour over the baseline period, scaled. */
  baseline: number;
  /** What `recent` passed: the larger of ratio x baseline and the floor. */
  threshold: number;
  /** recent / baseline; null when the identity had no baseline (a new one past the floor). */
  ratio: number | null;
  /** The guard's window and baseline period, in seconds. */
  window_s: number;
  baseline_s: number;
  policy: PolicyRef;
}

/** A suspension lifted: the identity's calls are decided again from the next one on. */
export interface ResumptionBody {
  kind: 'resumption';
  guard: string;
  key: string;
  identity: SuspendedIdentity;
  /** The suspension record's time (ISO 8601 UTC); null when none was on record. */
  suspended_at: string | null;
  /** Where it was lifted: `cli` (tollgate identity resume) or `admin` (the admin API). */
  via: 'cli' | 'admin';
}

/**
 * A revocation a proxy took into force: by `tollgate token revoke` in its data dir (`data-dir`),
 * or from the team's store (`store`). Each proxy records each revocation once, when it first sees
 * it, so every ledger of a team says from when it refused the tokens it names.
 */
export interface RevocationBody {
  kind: 'revocation';
  /** The revocation's id (`rv_...`). */
  revocation: string;
  /** What it names: one token, a signing key, or every token of a person, agent or session issued up to `revoked_at`. */
  target: 'token' | 'user' | 'agent' | 'session' | 'key';
  /** The token id, person, agent, session id or key id. */
  value: string;
  /** For an agent: the one person whose agent it is, or null for the agent of everyone. */
  user: string | null;
  /** When it was made (ISO 8601 UTC); the record's `time` is when this proxy took it into force. */
  revoked_at: string;
  reason: string | null;
  source: 'data-dir' | 'store';
}

/**
 * An MCP tool's definition (name, description, input schema, annotations) as the gateway pinned
 * it: first seen (`pinned`), seen changed and held back until a person approves it (`changed`),
 * or approved (`approved`, the new definition is the pin from then on).
 */
export interface ToolDefinitionBody {
  kind: 'tool-definition';
  event: 'pinned' | 'changed' | 'approved';
  server: string;
  /** The tool as agents name it (`mcp__<server>__<tool>`). */
  tool: string;
  /** sha256 (hex) of the canonical JSON of the definition this record is about. */
  sha256: string;
  /** The pinned definition's hash it replaces or differs from; null on first pinning. */
  previous_sha256: string | null;
  /** Who approved (`approved` only; else null). */
  by: string | null;
  policy: PolicyRef;
}

export type LedgerEntry = DecisionBody | SettleBody | PolicyEventBody | AlertBody | CheckpointBody | RefusalsBody | SuspensionBody | ResumptionBody | RevocationBody | ToolDefinitionBody;
export type RecordKind = LedgerEntry['kind'];

/** The fields the ledger assigns to every record. */
export interface RecordEnvelope {
  /** Unique and sortable by time (ULID). */
  id: string;
  /** Position in the chain, from 1. */
  seq: number;
  /** ISO 8601 UTC, millisecond precision; never decreases along the chain. */
  time: string;
  /** The hash of the record before (64 zeros before the first). */
  prev: string;
  /** sha256 (hex) of the canonical record without `hash` and `sig`. */
  hash: string;
  /**
   * Ed25519 signature (base64), or null on a record that a later signed record covers. The last
   * record of each group commit carries it, over the signed head's bytes for this record (its
   * seq, hash and time and the ledger's identity), and its hash commits to every record before
   * it. Ledgers written before signing per commit carry one on every record, over the same
   * canonical bytes as `hash`.
   */
  sig: string | null;
}

export type AuditRecord<E extends LedgerEntry = LedgerEntry> = RecordEnvelope & E;
export type DecisionRecord = AuditRecord<DecisionBody>;
export type SettleRecord = AuditRecord<SettleBody>;
export type PolicyRecord = AuditRecord<PolicyEventBody>;
export type AlertRecord = AuditRecord<AlertBody>;
export type CheckpointRecord = AuditRecord<CheckpointBody>;
export type RefusalsRecord = AuditRecord<RefusalsBody>;
export type SuspensionRecord = AuditRecord<SuspensionBody>;
export type ResumptionRecord = AuditRecord<ResumptionBody>;
export type RevocationRecord = AuditRecord<RevocationBody>;
export type ToolDefinitionRecord = AuditRecord<ToolDefinitionBody>;

export const GENESIS_HASH = '0'.repeat(64);
export function isCheckpoint(r: AuditRecord): r is CheckpointRecord {
  return r.kind === 'checkpoint';
}

/**
 * USD to 1e-9 (a nano-dollar): records and views carry the amount, not float noise. Also for
 * sums of recorded amounts, which floating point adds with noise in the last bits.
 */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1e9) / 1e9;
}
