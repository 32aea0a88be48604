import { anyGlobMatch } from '../glob';

// A token's scope: what the token may be used for, within what the bundle grants its person. It
// travels as one private claim of a standard JWT, so another gateway holding the JWKS can read and
// enforce it the same way. Scope narrows and never widens: a call is checked against the bundle
// and against the scope, and either refuses it.

/** The claim holding the scope: `{ models?, routes?, tools?, max_usd? }`. */
export const SCOPE_CLAIM = 'tollgate_scope';

/** Bounds on a scope, so a hostile token cannot make each check expensive. */
export const SCOPE_LIMITS = { listItems: 64, patternLength: 200, wildcards: 8 } as const;

/** The longest a token with a USD cap may live: its spend is restored from the ledger over that horizon after a restart. */
export const MAX_CAPPED_TOKEN_TTL_MS = 86_400_000;

export interface TokenScope {
  /** Model globs the token may call. */
  readonly models?: readonly string[];
  /** Route globs (the path after the provider, `/v1/chat/completions`). */
  readonly routes?: readonly string[];
  /** Tool globs the token may declare to a model or call over MCP. */
  readonly tools?: readonly string[];
  /** USD the token may spend over its whole lifetime. */
  readonly maxUsd?: number;
}

const LIST_FIELDS = ['models', 'routes', 'tools'] as const;
type ListField = (typeof LIST_FIELDS)[number];

/** A scope that cannot be read; `reason` says what is wrong with it, for the refusal. */
export class ScopeError extends Error {
  readonly reason = 'malformed-scope' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ScopeError';
  }
  static is(err: unknown): err is ScopeError {
    return err instanceof ScopeError;
  }
}

/** The one check every scope glob passes, at mint and when a token is read. */
export function scopePatternProblem(pattern: unknown): string | undefined {
  if (typeof pattern !== 'string') return 'is not a string';
  if (pattern.length === 0) return 'is empty';
  if (pattern.length > SCOPE_LIMITS.patternLength) return `is longer than ${SCOPE_LIMITS.patternLength} characters`;
  // Control characters have no place in a model or route name; they would only hide the pattern.
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return 'holds a control character';
  }
  // Each '*' is a '.*' in the compiled expression: many of them backtrack exponentially.
  if ((pattern.match(/\*/g) ?? []).length > SCOPE_LIMITS.wildcards) return `has more than ${SCOPE_LIMITS.wildcards} wildcards`;
  return undefined;
}

function readList(raw: Record<string, unknown>, field: ListField): readonly string[] | undefined {
  const value = raw[field];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new ScopeError(`${field} is not a list`);
  // An empty list would read as "nothing allowed" here and as "no restriction" to a careless
  // verifier: it is refused rather than left to interpretation.
  if (value.length === 0) throw new ScopeError(`${field} is an empty list`);
  if (value.length > SCOPE_LIMITS.listItems) throw new ScopeError(`${field} has more than ${SCOPE_LIMITS.listItems} entries`);
  value.forEach((p, i) => {
    const problem = scopePatternProblem(p);
    if (problem) throw new ScopeError(`${field}[${i}] ${problem}`);
  });
  return [...(value as string[])];
}

/**
 * Reads the scope claim of a verified token. Anything it does not understand is refused, not
 * ignored: a restriction a verifier skipped would widen the token.
 */
export function parseScopeClaim(raw: unknown): TokenScope | undefined {
  if (raw === undefined) return undefined;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ScopeError('the scope is not an object');
  const obj = raw as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!(LIST_FIELDS as readonly string[]).includes(key) && key !== 'max_usd') throw new ScopeError(`unknown scope field '${key.slice(0, 40)}'`);
  }
  const scope: { models?: readonly string[]; routes?: readonly string[]; tools?: readonly string[]; maxUsd?: number } = {};
  for (const field of LIST_FIELDS) {
    const list = readList(obj, field);
    if (list) scope[field] = list;
  }
  if (obj.max_usd !== undefined) {
    const usd = obj.max_usd;
    if (typeof usd !== 'number' || !Number.isFinite(usd) || usd < 0) throw new ScopeError('max_usd is not a non-negative number');
    scope.maxUsd = usd;
  }
  if (Object.keys(scope).length === 0) throw new ScopeError('the scope names nothing');
  return scope;
}

/** The claim as a token carries it. */
export function scopeClaim(scope: TokenScope): Record<string, unknown> {
  const claim: Record<string, unknown> = {};
  for (const field of LIST_FIELDS) if (scope[field]) claim[field] = [...scope[field]];
  if (scope.maxUsd !== undefined) claim.max_usd = scope.maxUsd;
  return claim;
}

/** Why a USD cap cannot be signed into a scope, or undefined when it can. */
export function usdCapProblem(usd: number): string | undefined {
  return Number.isFinite(usd) && usd >= 0 ? undefined : 'is not a non-negative number of dollars';
}

/** Why a token with this scope cannot live `ttlMs`, or undefined when it can (the same bound for the CLI and the editor). */
export function scopedLifetimeProblem(scope: TokenScope | undefined, ttlMs: number): string | undefined {
  return scope?.maxUsd !== undefined && ttlMs > MAX_CAPPED_TOKEN_TTL_MS ? 'is longer than 24h, the longest a token with a USD cap may live' : undefined;
}

/** Checks a scope given on the command line the way a token's is read, so a mint never signs one the proxy would refuse. */
export function validateScope(scope: TokenScope): TokenScope | undefined {
  return parseScopeClaim(Object.keys(scope).length === 0 ? undefined : scopeClaim(scope));
}

export function scopeAllowsModel(scope: TokenScope, model: string): boolean {
  return !scope.models || anyGlobMatch(scope.models, model);
}

export function scopeAllowsRoute(scope: TokenScope, route: string): boolean {
  return !scope.routes || anyGlobMatch(scope.routes, route);
}

export function scopeAllowsTool(scope: TokenScope, tool: string): boolean {
  return !scope.tools || anyGlobMatch(scope.tools, tool);
}

/** The scope in a line, as `token list` and refusals show it. */
export function describeScope(scope: TokenScope | undefined): string {
  if (!scope) return 'unscoped';
  const parts: string[] = [];
  if (scope.models) parts.push(`models ${scope.models.join(',')}`);
  if (scope.routes) parts.push(`routes ${scope.routes.join(',')}`);
  if (scope.tools) parts.push(`tools ${scope.tools.join(',')}`);
  if (scope.maxUsd !== undefined) parts.push(`max $${scope.maxUsd}`);
  return parts.join('; ');
}
