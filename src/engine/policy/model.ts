import type { KeyObject } from 'node:crypto';
import type { StyleName } from '../../contracts/call';
import type { Rate } from '../units';
import type { BudgetDocument, ClassificationDocument, Dimension, DivergenceMeasure, EntitlementDocument, ExceptionDocument, LimitDocument, MatchDocument, PriceDocument, StoreDocument, TelemetryDocument, WhenDocument } from './schema';

// The compiled, ready-to-enforce form of a bundle: units parsed, globs and defaults resolved, so
// deciding a request never re-reads the YAML's shape. A field the compiling does not change is
// the schema's own type (schema.ts): declared once, there.

export type CostUnit = LimitDocument['cost'];

/** A rule's `when`, each field a list (the bundle may give one value). */
export type RequestFilter = { readonly [K in keyof WhenDocument]?: readonly string[] };

/** A rule's `match`, each field a list. */
export type IdentityFilter = { readonly [K in keyof MatchDocument]?: readonly string[] };

interface RuleCommon {
  readonly id: string;
  readonly per: readonly Dimension[];
  readonly when?: RequestFilter;
  readonly match?: IdentityFilter;
}

export interface TokenBucketLimit extends RuleCommon {
  readonly kind: 'limit';
  readonly algorithm: 'token-bucket';
  readonly rate: Rate;
  readonly burst: number;
  readonly cost: CostUnit;
  /** A token limit that leaves cache reads out of what a call used (`cache_reads: skip`). */
  readonly skipCacheReads?: boolean;
}

export interface SlidingWindowLimit extends RuleCommon {
  readonly kind: 'limit';
  readonly algorithm: 'sliding-window';
  readonly windowMs: number;
  readonly limit: number;
  readonly cost: CostUnit;
  /** A token limit that leaves cache reads out of what a call used (`cache_reads: skip`). */
  readonly skipCacheReads?: boolean;
}

export type Limit = TokenBucketLimit | SlidingWindowLimit;

export type BudgetPeriod = { readonly type: 'calendar'; readonly unit: 'day' | 'week' | 'month' } | { readonly type: 'rolling'; readonly ms: number };

export interface Budget extends RuleCommon {
  readonly kind: 'budget';
  readonly period: BudgetPeriod;
  readonly limitUsd: number;
  readonly alertAt: readonly number[];
  readonly onExceed: BudgetDocument['on_exceed'];
  readonly downgradeTo?: string;
}

export type Rule = Limit | Budget;

export interface RuleException {
  readonly id: string;
  readonly identity: Readonly<ExceptionDocument['identity']>;
  readonly ruleId: string;
  readonly rate?: Rate;
  readonly burst?: number;
  readonly windowMs?: number;
  readonly max?: number;
  readonly limitUsd?: number;
  readonly expiresAt: number;
  readonly reason: string;
}

export type Entitlement = Readonly<EntitlementDocument>;

export interface ProviderConfig {
  readonly name: string;
  readonly upstream: string;
  readonly style: StyleName;
  readonly keyEnv?: string;
  /** Sent upstream on every call (names lower-cased), over anything the client sent. */
  readonly headers: Readonly<Record<string, string>>;
  /** Client headers (lower-cased) passed upstream beyond the style's own. */
  readonly forwardHeaders: readonly string[];
  /** Azure OpenAI: deployment name -> the model it serves. */
  readonly deployments?: Readonly<Record<string, string>>;
}

/** A public key of an identity provider, imported when the bundle loads, and what it may verify. */
export interface VerificationKey {
  readonly key: KeyObject;
  readonly kid?: string;
  /** The issuer's algorithms that this key's type, curve and size (and its JWK alg) allow. */
  readonly algorithms: readonly string[];
}

export interface IssuerConfig {
  readonly issuer: string;
  readonly audience: readonly string[];
  /** From public_key or jwks; every key verifies at least one of `algorithms`. */
  readonly keys: readonly VerificationKey[];
  readonly algorithms: readonly string[];
  /** The only claims read from the issuer's tokens: no other claim ever stands in for them. */
  readonly userClaim: string;
  readonly rolesClaim: string;
  readonly tenantClaim: string;
  readonly agentClaim?: string;
  readonly clockToleranceS: number;
}

export type Price = Readonly<PriceDocument>;

export interface ClassificationLabel {
  readonly label: string;
  readonly detectors: readonly ClassificationDocument['detectors'][number][];
  /** The document's weight, defaulted to 1. */
  readonly weight: number;
}

export interface Policy {
  readonly name: string;
  /** sha256 of the bundle's text: which exact bundle decided, for the audit record. */
  readonly hash: string;
  readonly providers: ReadonlyMap<string, ProviderConfig>;
  readonly identity: {
    readonly required: boolean;
    readonly roles: ReadonlyMap<string, readonly string[]>;
    readonly issuers: readonly IssuerConfig[];
    /** Most distinct agent names a person may give in x-tollgate-agent within an hour. */
    readonly maxAgentsPerUser?: number;
    /** The session signing key's rotation (identity.session_keys). */
    readonly sessionKeys?: { readonly rotateEveryMs?: number };
  };
  readonly prices: ReadonlyMap<string, Price>;
  readonly classification: readonly ClassificationLabel[];
  readonly limits: readonly Limit[];
  readonly budgets: readonly Budget[];
  readonly entitlements: {
    readonly default?: Entitlement;
    readonly roles: ReadonlyMap<string, Entitlement>;
    readonly users: ReadonlyMap<string, Entitlement>;
  };
  readonly guards: {
    readonly maxCallsPerTrace?: number;
    readonly traceTtlMs: number;
    readonly reserveOutputTokens: number;
    /** Suspension when an identity's recent rate diverges from its own baseline (absent: off). */
    readonly divergence?: DivergenceConfig;
  };
  readonly exceptions: readonly RuleException[];
  /** Which web origins and host names may reach the proxy (absent: none beyond its own address). */
  readonly network?: { readonly allowedOrigins: readonly string[]; readonly allowedHosts: readonly string[] };
  /** Team mode: what a shared store's outage does (absent in bundles built without the loader: refuse). */
  readonly store?: { readonly onUnavailable: NonNullable<StoreDocument['on_unavailable']> };
  /** What traces and metrics may say (absent in bundles built without the loader: the defaults). */
  readonly telemetry?: TelemetryConfig;
  /** Which tools each identity may use (absent: every tool, as before tools were governed). */
  readonly tools?: ToolsPolicy;
  /** The MCP servers the proxy fronts, by name (absent: none). */
  readonly mcp?: { readonly servers: ReadonlyMap<string, McpServerConfig> };
}

/** The bundle's `guards.divergence`, its durations parsed and its floors defaulted. */
export interface DivergenceConfig {
  /** Each dimension is watched on its own: `agent` the pair (user, agent), `user` the person. */
  readonly per: readonly ('agent' | 'user')[];
  readonly measures: readonly DivergenceMeasure[];
  readonly windowMs: number;
  readonly baselineMs: number;
  readonly ratio: number;
  readonly floor: Readonly<Record<DivergenceMeasure, number>>;
}

/** The bundle's `tools` section: allow lists widened per role and person, as entitlements are. */
export interface ToolsPolicy {
  readonly onUndeclared: 'refuse' | 'strip';
  readonly default?: readonly string[];
  readonly roles: ReadonlyMap<string, readonly string[]>;
  readonly users: ReadonlyMap<string, readonly string[]>;
  /** Tools a person approves call by call. */
  readonly approval: readonly string[];
  /** How long a call waits for a person before it is refused (`approval_timeout`, default 60s). */
  readonly approvalTimeoutMs: number;
  /** Calls of those tools the bundle itself admits, for whom (`approval_rules`). */
  readonly approvalRules: readonly ApprovalRule[];
  /** Tools whose arguments the audit record keeps (redacted); others keep only a hash. */
  readonly recordArguments: readonly string[];
}

/** An approval rule: calls of these tools by these identities need no person. */
export interface ApprovalRule {
  readonly id: string;
  readonly tools: readonly string[];
  /** Each given list must match, as a limit's `match` does: people (globs, lower-cased), roles, agents (globs). */
  readonly users?: readonly string[];
  readonly roles?: readonly string[];
  readonly agents?: readonly string[];
}

/** How long a call needing approval waits when the bundle does not say. */
export const DEFAULT_APPROVAL_TIMEOUT_MS = 60_000;

/**
 * One MCP server the proxy fronts. Values may hold `${NAME}` references to the proxy's
 * environment, resolved when the server is reached, so the bundle never holds a credential.
 */
export type McpServerConfig =
  | { readonly name: string; readonly transport: 'http'; readonly url: string; readonly headers: Readonly<Record<string, string>> }
  | { readonly name: string; readonly transport: 'stdio'; readonly command: readonly string[]; readonly env: Readonly<Record<string, string>> };

/** The bundle's `telemetry` section with its defaults filled in. */
export interface TelemetryConfig {
  /** How spans name the person: a pseudonym (default), the address, or not at all. */
  readonly identity: NonNullable<TelemetryDocument['identity']>;
  /** Person labels on Tollgate's own metrics. */
  readonly perPersonMetrics: boolean;
  /** Limit and budget ids whose accumulators' fill is exported. */
  readonly exported: readonly string[];
  /** Whether GET /_tollgate/metrics asks for its own bearer token. */
  readonly metricsAuth: 'token' | 'none';
}

export const DEFAULT_TELEMETRY: TelemetryConfig = { identity: 'pseudonym', perPersonMetrics: false, exported: [], metricsAuth: 'token' };
