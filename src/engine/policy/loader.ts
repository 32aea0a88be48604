import { createHash } from 'node:crypto';
import type { StyleName } from '../../contracts/call';
import { isGuardId } from '../guards';
import { DEFAULT_ISSUER_ALGORITHMS, importIssuerKeys } from '../identity/issuer-keys';
import { SESSION_ISSUER } from '../identity/claims';
import { catalogue } from '../price-catalogue';
import { DEFAULT_PRICE } from '../pricing';
import { anyGlobMatch } from '../glob';
import { parseDuration, parseExpiry, parseRate } from '../units';
import type { Rate } from '../units';
import type { ApprovalRule, Budget, BudgetPeriod, DivergenceConfig, IdentityFilter, Limit, McpServerConfig, Policy, RequestFilter, RuleException, ToolsPolicy, VerificationKey } from './model';
import { DEFAULT_APPROVAL_TIMEOUT_MS, DEFAULT_TELEMETRY } from './model';
import type { ApprovalRuleDocument, BudgetDocument, Dimension, DivergenceDocument, ExceptionDocument, IssuerDocument, LimitDocument, MatchDocument, McpServerDocument, PolicyDocument, ToolsDocument, WhenDocument } from './schema';
import { PolicySource } from './source';
import type { PolicyPath, SourcePosition } from './source';
import { validatePolicyDocument } from './validator';

export interface PolicyIssue {
  readonly severity: 'error' | 'warning';
  readonly message: string;
  readonly path: PolicyPath;
  readonly position: SourcePosition;
}

export type PolicyLoadResult =
  | { readonly ok: true; readonly policy: Policy; readonly warnings: readonly PolicyIssue[] }
  | { readonly ok: false; readonly errors: readonly PolicyIssue[]; readonly warnings: readonly PolicyIssue[] };

/** `FILE:LINE:COL: message`, the form editors and terminals turn into links. */
export function formatIssue(file: string, issue: PolicyIssue): string {
  const prefix = issue.severity === 'warning' ? 'warning: ' : '';
  return `${file}:${issue.position.line}:${issue.position.column}: ${prefix}${issue.message}`;
}

const calendarPeriods = new Set(['day', 'week', 'month']);

/** The style whose providers name deployments rather than models (src/providers/azure-openai). */
const AZURE_STYLE = 'azure-openai';

/** Headers only the proxy sets upstream: credentials, message framing, hop-by-hop and attribution. */
const RESERVED_HEADERS = new Set([
  'authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'proxy-authorization', 'cookie', 'host', 'content-length', 'content-type',
  'content-encoding', 'transfer-encoding', 'connection', 'keep-alive', 'te', 'trailer', 'upgrade', 'accept-encoding',
  'x-tollgate-user', 'x-tollgate-agent', 'x-tollgate-session',
]);

/**
 * Loads a bundle's text: YAML syntax, then the schema and the checks a schema cannot express, all
 * reported in one run. `now` only decides which exceptions draw an "already expired" warning;
 * loading is otherwise pure. `styles` are the provider styles that can be served (the provider
 * registry's, which the engine cannot import); without them any style name is taken.
 */
export function loadPolicy(text: string, now: number = Date.now(), styles?: readonly StyleName[]): PolicyLoadResult {
  const { source, syntaxErrors } = PolicySource.parse(text);
  const errors: PolicyIssue[] = [];
  const warnings: PolicyIssue[] = [];
  const error = (path: PolicyPath, message: string, atKey = false): void => {
    errors.push({ severity: 'error', message, path, position: source.positionOf(path, atKey) });
  };
  const warn = (path: PolicyPath, message: string): void => {
    warnings.push({ severity: 'warning', message, path, position: source.positionOf(path) });
  };

  if (syntaxErrors.length > 0) {
    return { ok: false, errors: syntaxErrors.map((e) => ({ severity: 'error', message: e.message, path: [], position: e.position })), warnings };
  }
  const value = source.toJS();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    error([], 'a policy bundle must be a YAML mapping');
    return { ok: false, errors, warnings };
  }
  const schemaIssues = validatePolicyDocument(value);
  for (const issue of schemaIssues) error(issue.path, issue.message, issue.atKey);
  // The semantic checks still run beside the schema's errors, skipping only what an error lies in.
  // Keyed as strings: a mapping key "1" and a list index 1 reach here as either.
  const key = (path: PolicyPath): string => JSON.stringify(path.map(String));
  const broken = new Set(schemaIssues.flatMap((issue) => issue.path.map((_, i) => key(issue.path.slice(0, i + 1))).concat(key([]))));
  const sound = (path: PolicyPath): boolean => !broken.has(key(path));

  const doc = value as PolicyDocument;
  for (const [name, p] of entries(doc.providers)) {
    const style = p !== null && typeof p === 'object' ? (p as { style?: unknown }).style : undefined;
    if (styles && typeof style === 'string' && !styles.includes(style)) error(['providers', name, 'style'], `unknown provider style '${style}': one of ${styles.join(', ')}`);
  }
  const compiled = compile(doc, sound, error, warn, now);
  if (errors.length > 0 || !compiled) return { ok: false, errors: byPosition(errors), warnings };
  return { ok: true, policy: { ...compiled, hash: createHash('sha256').update(text).digest('hex') }, warnings };
}

function byPosition(issues: PolicyIssue[]): PolicyIssue[] {
  return issues.sort((a, b) => a.position.line - b.position.line || a.position.column - b.position.column);
}

type Report = (path: PolicyPath, message: string, atKey?: boolean) => void;
/** True when no schema error lies at or under `path`, so its value has the schema's shape. */
type Soundness = (path: PolicyPath) => boolean;

/** A section the schema says is a list, or nothing when it is not one (the schema reports that). */
function items(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : [];
}

/** A section the schema says is a mapping, or nothing when it is not one. */
function entries(v: unknown): [string, unknown][] {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.entries(v) : [];
}

/** The id of a rule or exception, if it has one, even when the rest of it is malformed. */
function idOf(v: unknown): string | undefined {
  const id = v !== null && typeof v === 'object' ? (v as { id?: unknown }).id : undefined;
  return typeof id === 'string' ? id : undefined;
}

function list<T>(v: T | readonly T[] | undefined): readonly T[] | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? (v as readonly T[]) : [v as T];
}

function compile(doc: PolicyDocument, sound: Soundness, error: Report, warn: Report, now: number): Omit<Policy, 'hash'> | undefined {
  // Names that other sections refer to are gathered leniently, so a malformed entry beside them
  // does not also turn every reference to its name into an "unknown" error.
  const labels = new Set(entries(doc.classification).map(([label]) => label));
  const roles = new Set<string>([
    ...entries(doc.identity?.roles).flatMap(([, r]) => r),
    ...entries(doc.entitlements?.roles).map(([role]) => role),
    ...entries(doc.tools?.roles).map(([role]) => role),
    ...items(doc.identity?.declared_roles),
  ].filter((r): r is string => typeof r === 'string'));
  const prices = new Map(Object.entries(doc.prices ?? {}));
  const ids = new Map<string, PolicyPath>();

  const checkId = (id: string, path: PolicyPath): void => {
    if (isGuardId(id)) return error(path, `id '${id}' is reserved for the guard of that name`);
    const first = ids.get(id);
    if (first) error(path, `duplicate id '${id}' (also used at ${first.join('.')})`);
    else ids.set(id, path);
  };
  /** A malformed rule or exception still claims its id, so a second use of it is still a duplicate. */
  const checkLooseId = (element: unknown, path: PolicyPath): void => {
    const id = idOf(element);
    if (id !== undefined) checkId(id, path);
  };
  const checkPer = (per: Dimension | Dimension[], path: PolicyPath): Dimension[] => {
    const dims = [...(list(per) ?? [])];
    const dup = dims.find((d, i) => dims.indexOf(d) !== i);
    if (dup) error(path, `dimension '${dup}' is named twice`);
    return dims;
  };
  const checkWhen = (when: WhenDocument | undefined, path: PolicyPath): RequestFilter | undefined => {
    if (!when) return undefined;
    const classification = list(when.classification);
    classification?.forEach((c, i) => {
      if (!labels.has(c)) error(Array.isArray(when.classification) ? [...path, 'classification', i] : [...path, 'classification'], `unknown classification '${c}' (the bundle defines: ${[...labels].join(', ') || 'none'})`);
    });
    return { classification, model: list(when.model), provider: list(when.provider), route: list(when.route), tool: list(when.tool) };
  };
  const checkMatch = (match: MatchDocument | undefined, path: PolicyPath): IdentityFilter | undefined => {
    if (!match) return undefined;
    const matchRoles = list(match.role);
    matchRoles?.forEach((r, i) => {
      if (!roles.has(r)) error(Array.isArray(match.role) ? [...path, 'role', i] : [...path, 'role'], `unknown role '${r}' (no person, entitlement or declared_roles names it)`);
    });
    return { role: matchRoles, user: list(match.user)?.map((u) => u.toLowerCase()), agent: list(match.agent), tenant: list(match.tenant) };
  };
  /** What limits and budgets share: an id, the dimensions, and which requests and identities count. */
  const checkRule = (r: LimitDocument | BudgetDocument, path: PolicyPath): { per: Dimension[]; when?: RequestFilter; match?: IdentityFilter } => {
    checkId(r.id, [...path, 'id']);
    return { per: checkPer(r.per, [...path, 'per']), when: checkWhen(r.when, [...path, 'when']), match: checkMatch(r.match, [...path, 'match']) };
  };
  const rate = (text: string, path: PolicyPath): Rate | undefined => {
    const r = parseRate(text);
    if (!r) error(path, `invalid rate '${text}': expected N/unit with unit s, min, h or day (e.g. 60/min)`);
    return r;
  };
  const duration = (text: string, path: PolicyPath): number | undefined => {
    const d = parseDuration(text);
    if (d === undefined) error(path, `invalid duration '${text}': expected a number and a unit (30s, 1m, 1h, 1d)`);
    return d;
  };

  for (const [name, p] of entries(doc.providers) as [string, PolicyDocument['providers'][string]][]) {
    if (!sound(['providers', name])) continue;
    if (!/^https?:\/\//.test(p.upstream)) error(['providers', name, 'upstream'], `upstream must be an http or https URL`);
    for (const h of Object.keys(p.headers ?? {})) {
      if (RESERVED_HEADERS.has(h.toLowerCase())) error(['providers', name, 'headers', h], `header '${h}' is set by the proxy itself and cannot be given here`, true);
    }
    (p.forward_headers ?? []).forEach((h, i) => {
      if (RESERVED_HEADERS.has(h.toLowerCase())) error(['providers', name, 'forward_headers', i], `header '${h}' never passes from a client to the provider (credentials, framing and attribution are the proxy's)`);
    });
    // Azure names its deployments, not its models: the map is how a call's model is known.
    if (p.deployments !== undefined && p.style !== AZURE_STYLE) error(['providers', name, 'deployments'], `deployments map Azure OpenAI deployments to models: only a provider of style ${AZURE_STYLE} has them`, true);
    if (p.deployments === undefined && p.style === AZURE_STYLE) warn(['providers', name], `provider '${name}' (style ${AZURE_STYLE}) lists no deployments, so every call to it is refused: add deployments: { <deployment>: <model> }`);
  }

  const limits: Limit[] = [];
  (items(doc.limits) as LimitDocument[]).forEach((l, i) => {
    const path = ['limits', i];
    if (!sound(path)) return void checkLooseId(l, [...path, 'id']);
    const { per, when, match } = checkRule(l, path);
    if (l.cache_reads !== undefined && l.cost !== 'tokens') error([...path, 'cache_reads'], `'cache_reads' applies to limits with cost: tokens`, true);
    const skip = l.cache_reads === 'skip' && l.cost === 'tokens' ? { skipCacheReads: true } : {};
    if (l.algorithm === 'token-bucket') {
      if (l.rate === undefined) error(path, `token-bucket limit '${l.id}' needs a rate`);
      if (l.burst === undefined) error(path, `token-bucket limit '${l.id}' needs a burst`);
      if (l.window !== undefined) error([...path, 'window'], `'window' applies to sliding-window limits, not token-bucket`, true);
      if (l.limit !== undefined) error([...path, 'limit'], `'limit' applies to sliding-window limits; a token bucket uses burst`, true);
      const r = l.rate !== undefined ? rate(l.rate, [...path, 'rate']) : undefined;
      if (r && l.burst !== undefined) limits.push({ kind: 'limit', id: l.id, per, when, match, algorithm: 'token-bucket', rate: r, burst: l.burst, cost: l.cost, ...skip });
    } else {
      if (l.window === undefined) error(path, `sliding-window limit '${l.id}' needs a window`);
      if (l.limit === undefined) error(path, `sliding-window limit '${l.id}' needs a limit`);
      if (l.rate !== undefined) error([...path, 'rate'], `'rate' applies to token-bucket limits, not sliding-window`, true);
      if (l.burst !== undefined) error([...path, 'burst'], `'burst' applies to token-bucket limits, not sliding-window`, true);
      const w = l.window !== undefined ? duration(l.window, [...path, 'window']) : undefined;
      if (w !== undefined && l.limit !== undefined) limits.push({ kind: 'limit', id: l.id, per, when, match, algorithm: 'sliding-window', windowMs: w, limit: l.limit, cost: l.cost, ...skip });
    }
  });

  const budgets: Budget[] = [];
  (items(doc.budgets) as BudgetDocument[]).forEach((b, i) => {
    const path = ['budgets', i];
    if (!sound(path)) return void checkLooseId(b, [...path, 'id']);
    const { per, when, match } = checkRule(b, path);
    let period: BudgetPeriod | undefined;
    if (calendarPeriods.has(b.period)) period = { type: 'calendar', unit: b.period as 'day' | 'week' | 'month' };
    else {
      const ms = parseDuration(b.period);
      if (ms === undefined) error([...path, 'period'], `invalid period '${b.period}': expected day, week, month or a rolling duration (24h, 7d)`);
      else period = { type: 'rolling', ms };
    }
    const alerts = b.alert_at ?? [];
    alerts.forEach((a, j) => {
      if (alerts.indexOf(a) !== j) error([...path, 'alert_at', j], `alert threshold ${a} is listed twice`);
    });
    if (b.on_exceed === 'downgrade') {
      if (!b.downgrade_to) error([...path, 'on_exceed'], `on_exceed: downgrade needs downgrade_to (the model to rewrite to)`);
      else if (!prices.has(b.downgrade_to) && !prices.has(DEFAULT_PRICE) && !catalogue.priceOf(b.downgrade_to)) {
        error([...path, 'downgrade_to'], `downgrade_to '${b.downgrade_to}' has no price (neither the price catalogue nor prices name it), so its cost cannot be held`);
      }
    } else if (b.downgrade_to !== undefined) {
      error([...path, 'downgrade_to'], `downgrade_to is used only with on_exceed: downgrade`, true);
    }
    if (period) {
      budgets.push({
        kind: 'budget', id: b.id, per, when, match, period, limitUsd: b.limit_usd, alertAt: [...alerts].sort((x, y) => x - y),
        onExceed: b.on_exceed, downgradeTo: b.downgrade_to,
      });
    }
  });

  const ruleById = new Map<string, Limit | Budget>([...limits, ...budgets].map((r) => [r.id, r]));
  const declaredIds = new Set([...items(doc.limits), ...items(doc.budgets)].map(idOf));
  const exceptions: RuleException[] = [];
  (items(doc.exceptions) as ExceptionDocument[]).forEach((x, i) => {
    const path = ['exceptions', i];
    if (!sound(path)) return void checkLooseId(x, [...path, 'id']);
    const id = x.id ?? `exception-${i + 1}`;
    if (x.id) checkId(x.id, [...path, 'id']);
    if (x.identity.role !== undefined && !roles.has(x.identity.role)) error([...path, 'identity', 'role'], `unknown role '${x.identity.role}'`);
    const expiresAt = parseExpiry(x.expires);
    if (expiresAt === undefined) error([...path, 'expires'], `impossible date '${x.expires}'`);
    else if (expiresAt <= now) warn([...path, 'expires'], `exception expired at ${new Date(expiresAt).toISOString()} and no longer applies`);
    if (!declaredIds.has(x.limit)) {
      error([...path, 'limit'], `exception names unknown limit '${x.limit}'`);
      return;
    }
    const rule = ruleById.get(x.limit);
    if (!rule) return;
    const allowed = rule.kind === 'budget' ? ['limit_usd'] : rule.algorithm === 'token-bucket' ? ['rate', 'burst'] : ['window', 'max'];
    const given = (['rate', 'burst', 'window', 'max', 'limit_usd'] as const).filter((k) => x[k] !== undefined);
    if (given.length === 0) error(path, `exception for '${x.limit}' overrides nothing (give ${allowed.join(' or ')})`);
    for (const k of given) {
      if (!allowed.includes(k)) error([...path, k], `'${k}' cannot override ${rule.kind === 'budget' ? 'a budget' : `a ${rule.algorithm} limit`} (use ${allowed.join(' or ')})`, true);
    }
    const r = x.rate !== undefined ? rate(x.rate, [...path, 'rate']) : undefined;
    const w = x.window !== undefined ? duration(x.window, [...path, 'window']) : undefined;
    if (expiresAt !== undefined) {
      exceptions.push({
        id, identity: { ...x.identity, user: x.identity.user?.toLowerCase() }, ruleId: x.limit, rate: r, burst: x.burst, windowMs: w, max: x.max,
        limitUsd: x.limit_usd, expiresAt, reason: x.reason,
      });
    }
  });

  items(doc.telemetry?.exported).forEach((id, i) => {
    if (typeof id === 'string' && !declaredIds.has(id)) error(['telemetry', 'exported', i], `telemetry exports unknown limit or budget '${id}'`);
  });

  const divergence = doc.guards?.divergence !== undefined && sound(['guards', 'divergence']) ? compileDivergence(doc.guards.divergence, duration, error) : undefined;
  const rotateText = doc.identity?.session_keys?.rotate_every;
  const rotateEveryMs = rotateText !== undefined && sound(['identity', 'session_keys', 'rotate_every']) ? duration(rotateText, ['identity', 'session_keys', 'rotate_every']) : undefined;
  // Keys rotated more often than hourly would pile up in the ring, each kept until its tokens expire.
  if (rotateEveryMs !== undefined && rotateEveryMs < 3_600_000) error(['identity', 'session_keys', 'rotate_every'], `rotate_every '${rotateText}' is shorter than 1h`);
  const traceTtl = doc.guards?.trace_ttl !== undefined && sound(['guards', 'trace_ttl']) ? duration(doc.guards.trace_ttl, ['guards', 'trace_ttl']) : 3_600_000;
  for (const [label, c] of entries(doc.classification) as [string, NonNullable<PolicyDocument['classification']>[string]][]) {
    if (!sound(['classification', label])) continue;
    const dup = c.detectors.find((d, i) => c.detectors.indexOf(d) !== i);
    if (dup) error(['classification', label, 'detectors'], `detector '${dup}' is listed twice`);
  }
  const issuerKeys = new Map<number, VerificationKey[]>();
  const issuerNames = new Map<string, number>([[SESSION_ISSUER, -1]]);
  items(doc.identity?.issuers).forEach((iss, i) => {
    const path = ['identity', 'issuers', i];
    if (!sound(path)) return;
    const issuer = iss as IssuerDocument;
    const first = issuerNames.get(issuer.issuer);
    if (first === -1) error([...path, 'issuer'], `'${SESSION_ISSUER}' is the proxy's own session issuer; an identity provider needs another name`);
    else if (first !== undefined) error([...path, 'issuer'], `issuer '${issuer.issuer}' is already configured (identity.issuers.${first}); its tokens would only ever meet the first`);
    else issuerNames.set(issuer.issuer, i);
    const { keys, problems } = importIssuerKeys(issuer);
    for (const problem of problems) error([...path, ...problem.path], problem.message);
    issuerKeys.set(i, keys);
  });
  const approvalTimeoutMs = compileApprovalTimeout(doc.tools?.approval_timeout, sound, duration, error);
  const approvalRules: ApprovalRule[] = [];
  (items(doc.tools?.approval_rules) as ApprovalRuleDocument[]).forEach((r, i) => {
    const path = ['tools', 'approval_rules', i];
    if (!sound(path)) return void checkLooseId(r, [...path, 'id']);
    const rule = compileApprovalRule(r, path, roles, items(doc.tools?.approval).filter((g): g is string => typeof g === 'string'), error, warn);
    checkId(r.id, [...path, 'id']);
    if (rule) approvalRules.push(rule);
  });
  // What follows reads the document as the schema describes it, so only a bundle that passed it is built.
  if (!sound([])) return undefined;

  return {
    name: doc.name,
    providers: new Map(
      Object.entries(doc.providers).map(([name, p]) => [
        name,
        {
          name, upstream: p.upstream.replace(/\/+$/, ''), style: p.style, keyEnv: p.key_env,
          headers: Object.fromEntries(Object.entries(p.headers ?? {}).map(([h, v]) => [h.toLowerCase(), v])),
          forwardHeaders: (p.forward_headers ?? []).map((h) => h.toLowerCase()),
          ...(p.deployments ? { deployments: { ...p.deployments } } : {}),
        },
      ]),
    ),
    identity: {
      required: doc.identity.required,
      roles: new Map(Object.entries(doc.identity.roles ?? {}).map(([u, r]) => [u.toLowerCase(), r])),
      maxAgentsPerUser: doc.identity.max_agents_per_user,
      ...(rotateEveryMs !== undefined ? { sessionKeys: { rotateEveryMs } } : {}),
      issuers: (doc.identity.issuers ?? []).map((iss, i) => {
        return {
          issuer: iss.issuer, audience: list(iss.audience) ?? [], keys: issuerKeys.get(i) ?? [],
          algorithms: iss.algorithms ?? DEFAULT_ISSUER_ALGORITHMS, userClaim: iss.user_claim ?? 'email', rolesClaim: iss.roles_claim ?? 'roles',
          tenantClaim: iss.tenant_claim ?? 'tenant', agentClaim: iss.agent_claim, clockToleranceS: iss.clock_tolerance_s ?? 30,
        };
      }),
    },
    prices,
    classification: Object.entries(doc.classification ?? {}).map(([label, c]) => ({ label, detectors: c.detectors, weight: c.weight ?? 1 })),
    limits,
    budgets,
    entitlements: {
      default: doc.entitlements?.default,
      roles: new Map(Object.entries(doc.entitlements?.roles ?? {})),
      users: new Map(Object.entries(doc.entitlements?.users ?? {}).map(([u, e]) => [u.toLowerCase(), e])),
    },
    guards: {
      maxCallsPerTrace: doc.guards?.max_calls_per_trace,
      traceTtlMs: traceTtl ?? 3_600_000,
      reserveOutputTokens: doc.guards?.reserve_output_tokens ?? 1024,
      ...(divergence ? { divergence } : {}),
    },
    exceptions,
    store: { onUnavailable: doc.store?.on_unavailable ?? 'refuse' },
    network: { allowedOrigins: doc.network?.allowed_origins ?? [], allowedHosts: doc.network?.allowed_hosts ?? [] },
    telemetry: {
      identity: doc.telemetry?.identity ?? DEFAULT_TELEMETRY.identity,
      perPersonMetrics: doc.telemetry?.per_person_metrics ?? DEFAULT_TELEMETRY.perPersonMetrics,
      exported: doc.telemetry?.exported ?? DEFAULT_TELEMETRY.exported,
      metricsAuth: doc.telemetry?.metrics_endpoint?.auth ?? DEFAULT_TELEMETRY.metricsAuth,
    },
    ...(doc.tools ? { tools: compileTools(doc.tools, approvalTimeoutMs, approvalRules) } : {}),
    ...(doc.mcp ? { mcp: { servers: new Map(Object.entries(doc.mcp.servers).map(([name, server]) => [name, compileMcpServer(name, server)])) } } : {}),
  };
}

/** The floors a bundle leaves out: well above one person's ordinary hour. */
export const DEFAULT_DIVERGENCE_FLOOR: DivergenceConfig['floor'] = { calls: 100, tokens: 1_000_000, usd: 10 };

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** The ledger's index keeps per-hour totals this far back (index-db.ts), so a baseline can reach no further. */
const MAX_BASELINE_MS = 7 * DAY_MS;

function compileDivergence(d: DivergenceDocument, duration: (text: string, path: PolicyPath) => number | undefined, error: Report): DivergenceConfig | undefined {
  const path = ['guards', 'divergence'];
  const windowMs = duration(d.window, [...path, 'window']);
  const baselineMs = duration(d.baseline, [...path, 'baseline']);
  if (windowMs !== undefined && (windowMs < MINUTE_MS || windowMs > DAY_MS)) error([...path, 'window'], `window ${d.window} must be between 1m and 1d`);
  if (baselineMs !== undefined && baselineMs > MAX_BASELINE_MS) error([...path, 'baseline'], `baseline ${d.baseline} reaches further back than the 7d of hourly totals the ledger keeps`);
  if (windowMs !== undefined && baselineMs !== undefined && baselineMs <= windowMs) error([...path, 'baseline'], `baseline ${d.baseline} must be longer than the window (${d.window})`);
  if (windowMs === undefined || baselineMs === undefined) return undefined;
  return {
    per: [...d.per], measures: [...d.measure], windowMs, baselineMs, ratio: d.ratio,
    floor: { ...DEFAULT_DIVERGENCE_FLOOR, ...d.floor },
  };
}

/** Shortest and longest wait for a person: a client's own request timeout is usually a few minutes. */
const MIN_APPROVAL_TIMEOUT_MS = 1_000;
const MAX_APPROVAL_TIMEOUT_MS = 10 * MINUTE_MS;

function compileApprovalTimeout(text: string | undefined, sound: Soundness, duration: (text: string, path: PolicyPath) => number | undefined, error: Report): number {
  const path = ['tools', 'approval_timeout'];
  if (text === undefined || !sound(path)) return DEFAULT_APPROVAL_TIMEOUT_MS;
  const ms = duration(text, path);
  if (ms === undefined) return DEFAULT_APPROVAL_TIMEOUT_MS;
  if (ms < MIN_APPROVAL_TIMEOUT_MS || ms > MAX_APPROVAL_TIMEOUT_MS) error(path, `approval_timeout ${text} must be between 1s and 10m`);
  return ms;
}

function compileApprovalRule(r: ApprovalRuleDocument, path: PolicyPath, roles: ReadonlySet<string>, approval: readonly string[], error: Report, warn: Report): ApprovalRule | undefined {
  // A rule for everyone would switch the approval off: that is taking the tool out of tools.approval.
  if (r.users === undefined && r.roles === undefined && r.agents === undefined) {
    error(path, `approval rule '${r.id}' names nobody: give users, roles or agents (to approve a tool for everyone, take it out of tools.approval)`);
    return undefined;
  }
  r.roles?.forEach((role, i) => {
    if (!roles.has(role)) error([...path, 'roles', i], `unknown role '${role}' (no person, entitlement or declared_roles names it)`);
  });
  const tools = list(r.tool) ?? [];
  tools.forEach((tool, i) => {
    // A plain name no approval glob covers never waits for a person, so the rule could never apply to it.
    if (!tool.includes('*') && !tool.includes('?') && !anyGlobMatch(approval, tool)) {
      warn(Array.isArray(r.tool) ? [...path, 'tool', i] : [...path, 'tool'], `approval rule '${r.id}' names '${tool}', which tools.approval does not list, so it never needs approving`);
    }
  });
  return {
    id: r.id, tools,
    ...(r.users ? { users: r.users.map((u) => u.toLowerCase()) } : {}),
    ...(r.roles ? { roles: [...r.roles] } : {}),
    ...(r.agents ? { agents: [...r.agents] } : {}),
  };
}

function compileTools(t: ToolsDocument, approvalTimeoutMs: number, approvalRules: readonly ApprovalRule[]): ToolsPolicy {
  return {
    onUndeclared: t.on_undeclared ?? 'refuse',
    default: t.default?.allow,
    roles: new Map(Object.entries(t.roles ?? {}).map(([role, a]) => [role, a.allow])),
    users: new Map(Object.entries(t.users ?? {}).map(([u, a]) => [u.toLowerCase(), a.allow])),
    approval: t.approval ?? [],
    approvalTimeoutMs,
    approvalRules,
    recordArguments: t.record_arguments ?? [],
  };
}

function compileMcpServer(name: string, s: McpServerDocument): McpServerConfig {
  return 'url' in s
    ? { name, transport: 'http', url: s.url, headers: Object.fromEntries(Object.entries(s.headers ?? {}).map(([h, v]) => [h.toLowerCase(), v])) }
    : { name, transport: 'stdio', command: [...s.command], env: { ...(s.env ?? {}) } };
}
