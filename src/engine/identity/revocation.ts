import type { Identity } from './identity';

// Revocations: which verified tokens are refused before they expire. A revocation names a token
// (its jti), a signing key (its kid), or a person, an agent or a session; the last three revoke
// every token issued to them up to the revocation, so the person can be given a new one after.
// One revocation is kept per target and value (its field): a later one replaces an earlier one.

export type RevocationTarget = 'token' | 'user' | 'agent' | 'session' | 'key';

export const REVOCATION_TARGETS: readonly RevocationTarget[] = ['token', 'user', 'agent', 'session', 'key'];

export interface Revocation {
  /** Unique id (`rv_...`), as the ledger's revocation record names it. */
  readonly id: string;
  readonly target: RevocationTarget;
  /** The token id, person (e-mail, lower-cased), agent name, session id or key id. */
  readonly value: string;
  /** For an agent: only that person's agent; absent, the agent of everyone. */
  readonly user?: string;
  /** When it was made, ms. */
  readonly revokedAt: number;
  /** When every token it could name has expired: it can be forgotten then. */
  readonly expiresAt: number;
  readonly reason?: string;
}

/** A revocation that cannot be read: the list holding it is refused, never skipped. */
export class RevocationFormatError extends Error {
  readonly reason = 'malformed-revocation' as const;
  constructor(message: string) {
    super(message);
    this.name = 'RevocationFormatError';
  }
  static is(err: unknown): err is RevocationFormatError {
    return err instanceof RevocationFormatError;
  }
}

/** The one key a revocation is kept under, in the data dir's list and in Redis. */
export function revocationField(r: Pick<Revocation, 'target' | 'value' | 'user'>): string {
  return r.target === 'agent' && r.user ? `agent:${r.user}/${r.value}` : `${r.target}:${r.value}`;
}

/** Every field a revocation of this identity's token could be kept under. */
export function fieldsFor(id: Identity): string[] {
  const t = id.token;
  const fields = [`user:${id.user}`, `session:${id.session}`];
  if (t?.id) fields.push(`token:${t.id}`);
  if (t?.kid) fields.push(`key:${t.kid}`);
  for (const agent of new Set([id.agent, ...(t?.agent ? [t.agent] : [])])) fields.push(`agent:${agent}`, `agent:${id.user}/${agent}`);
  return fields;
}

/**
 * Whether the revocation refuses this identity's token. A person, agent or session revocation
 * covers tokens issued up to it, to the second a token's iat states (a token issued in the same
 * second is revoked too), and a token that states no iat: it cannot show it came after.
 */
export function revokes(r: Revocation, id: Identity): boolean {
  const t = id.token;
  if (!t) return false;
  const issuedBefore = t.issuedAt === undefined || t.issuedAt <= r.revokedAt;
  switch (r.target) {
    case 'token':
      return t.id === r.value;
    case 'key':
      return t.kid === r.value;
    case 'session':
      return id.session === r.value && issuedBefore;
    case 'user':
      return id.user === r.value && issuedBefore;
    case 'agent':
      return (id.agent === r.value || t.agent === r.value) && (r.user === undefined || r.user === id.user) && issuedBefore;
  }
}

/** The revocations in force, looked up by field. */
export class RevocationSet {
  private readonly byField = new Map<string, Revocation>();

  constructor(entries: Iterable<Revocation>) {
    for (const r of entries) this.add(r);
  }

  get size(): number {
    return this.byField.size;
  }

  entries(): IterableIterator<Revocation> {
    return this.byField.values();
  }

  /** Keeps the later of two revocations under one field: it covers every token the earlier did. */
  add(r: Revocation): boolean {
    const field = revocationField(r);
    const had = this.byField.get(field);
    if (had && had.revokedAt >= r.revokedAt) return false;
    this.byField.set(field, r);
    return true;
  }

  /** The revocation refusing this identity's token, if one does. */
  match(id: Identity): Revocation | undefined {
    if (!id.token || this.byField.size === 0) return undefined;
    for (const field of fieldsFor(id)) {
      const r = this.byField.get(field);
      if (r && revokes(r, id)) return r;
    }
    return undefined;
  }
}

/** A revocation as stored (the data dir's list, Redis): snake_case, times in ISO 8601. */
export interface RevocationJson {
  id: string;
  target: RevocationTarget;
  value: string;
  user: string | null;
  revoked_at: string;
  expires_at: string;
  reason: string | null;
}

export function revocationJson(r: Revocation): RevocationJson {
  return {
    id: r.id, target: r.target, value: r.value, user: r.user ?? null, revoked_at: new Date(r.revokedAt).toISOString(), expires_at: new Date(r.expiresAt).toISOString(), reason: r.reason ?? null,
  };
}

const MAX_TEXT = 256;

function text(raw: Record<string, unknown>, field: string, optional = false): string | undefined {
  const v = raw[field];
  if (optional && (v === null || v === undefined)) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_TEXT) throw new RevocationFormatError(`${field} is not a string of 1 to ${MAX_TEXT} characters`);
  return v;
}

function instant(raw: Record<string, unknown>, field: string): number {
  const t = Date.parse(text(raw, field)!);
  if (!Number.isFinite(t)) throw new RevocationFormatError(`${field} is not a time`);
  return t;
}

export function parseRevocation(raw: unknown): Revocation {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new RevocationFormatError('a revocation is not an object');
  const o = raw as Record<string, unknown>;
  const target = o.target;
  if (typeof target !== 'string' || !(REVOCATION_TARGETS as readonly string[]).includes(target)) throw new RevocationFormatError(`unknown target ${JSON.stringify(target)?.slice(0, 40)}`);
  const user = text(o, 'user', true);
  const reason = text(o, 'reason', true);
  return {
    id: text(o, 'id')!, target: target as RevocationTarget, value: text(o, 'value')!, ...(user !== undefined ? { user } : {}),
    revokedAt: instant(o, 'revoked_at'), expiresAt: instant(o, 'expires_at'), ...(reason !== undefined ? { reason } : {}),
  };
}
