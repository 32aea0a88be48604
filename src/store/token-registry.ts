import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Identity } from '../engine/identity/identity';
import { isAgentName, normalizeUser } from '../engine/identity/identity';
import type { RevocationSet } from '../engine/identity/revocation';
import type { TokenScope } from '../engine/identity/token-scope';
import { parseScopeClaim, scopeClaim } from '../engine/identity/token-scope';
import type { MintOptions } from '../engine/identity/tokens';
import { mintSessionToken } from '../engine/identity/tokens';
import { ensureDataDir } from './data-dir';
import { writePrivateFile } from './private-file';
import { loadSessionKeys } from './session-key';

// The tokens minted from a data dir (tokens.jsonl, one line each, never the token itself) and when
// each was last used (token-use.json, written by the proxy now and then, not on every call), so
// `tollgate token list` can show who holds a live token and `token revoke` can name them.

export const TOKENS_FILE = 'tokens.jsonl';
export const TOKEN_USE_FILE = 'token-use.json';

export interface MintedToken {
  readonly id: string;
  readonly user: string;
  readonly agent?: string;
  readonly session: string;
  readonly roles: readonly string[];
  readonly scope?: TokenScope;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly kid: string;
}

export interface MintedLine {
  id: string;
  user: string;
  agent: string | null;
  session: string;
  roles: string[];
  scope: Record<string, unknown> | null;
  issued_at: string;
  expires_at: string;
  kid: string;
}

/** Mints a session token with the data dir's current key and records it in the registry. */
export async function mintRegisteredToken(dataDir: string, o: Omit<MintOptions, 'id'>): Promise<{ token: string; minted: MintedToken }> {
  const keys = loadSessionKeys(dataDir);
  const id = randomUUID();
  const session = o.session ?? randomUUID();
  const token = await mintSessionToken(keys, { ...o, id, session });
  const issuedAt = Math.floor(o.now / 1000) * 1000;
  const minted: MintedToken = {
    id, user: normalizeUser(o.user), ...(o.agent ? { agent: o.agent } : {}), session, roles: [...(o.roles ?? [])], ...(o.scope ? { scope: o.scope } : {}),
    issuedAt, expiresAt: issuedAt + Math.max(1, Math.floor(o.ttlMs / 1000)) * 1000, kid: keys.kid,
  };
  recordMinted(dataDir, minted, o.now);
  return { token, minted };
}

/** A minted token as registered (a line of tokens.jsonl, a value in the team's Redis): never the token itself. */
export function mintedJson(t: MintedToken): MintedLine {
  return lineOf(t);
}

/** A registry entry that does not read as one. */
export class MintedTokenFormatError extends Error {
  readonly reason = 'malformed-token-entry' as const;
  constructor(message: string) {
    super(message);
    this.name = 'MintedTokenFormatError';
  }
  static is(err: unknown): err is MintedTokenFormatError {
    return err instanceof MintedTokenFormatError;
  }
}

const MAX_FIELD = 320;

function textOf(o: Record<string, unknown>, field: string): string {
  const v = o[field];
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_FIELD) throw new MintedTokenFormatError(`${field} is not a string of 1 to ${MAX_FIELD} characters`);
  return v;
}

function timeOf(o: Record<string, unknown>, field: string): number {
  const t = Date.parse(textOf(o, field));
  if (!Number.isFinite(t)) throw new MintedTokenFormatError(`${field} is not a time`);
  return t;
}

/** A registry entry written by another process (the team's Redis), read field by field. */
export function parseMintedToken(raw: unknown): MintedToken {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new MintedTokenFormatError('a token entry is not an object');
  const o = raw as Record<string, unknown>;
  const agent = o.agent === null ? undefined : textOf(o, 'agent');
  if (agent !== undefined && !isAgentName(agent)) throw new MintedTokenFormatError('agent is not an agent name');
  const roles = o.roles;
  if (!Array.isArray(roles) || roles.length > 64 || !roles.every((r) => typeof r === 'string' && r.length > 0 && r.length <= MAX_FIELD)) throw new MintedTokenFormatError('roles is not a list of names');
  let scope: TokenScope | undefined;
  try {
    scope = o.scope === null ? undefined : parseScopeClaim(o.scope);
  } catch (err) {
    throw new MintedTokenFormatError(`scope: ${(err as Error).message}`);
  }
  const issuedAt = timeOf(o, 'issued_at');
  const expiresAt = timeOf(o, 'expires_at');
  if (expiresAt < issuedAt) throw new MintedTokenFormatError('it expires before it was issued');
  return {
    id: textOf(o, 'id'), user: textOf(o, 'user'), ...(agent !== undefined ? { agent } : {}), session: textOf(o, 'session'), roles: [...(roles as string[])],
    ...(scope ? { scope } : {}), issuedAt, expiresAt, kid: textOf(o, 'kid'),
  };
}

function lineOf(t: MintedToken): MintedLine {
  return {
    id: t.id, user: t.user, agent: t.agent ?? null, session: t.session, roles: [...t.roles], scope: t.scope ? scopeClaim(t.scope) : null,
    issued_at: new Date(t.issuedAt).toISOString(), expires_at: new Date(t.expiresAt).toISOString(), kid: t.kid,
  };
}

function fromLine(l: MintedLine): MintedToken {
  return {
    id: l.id, user: l.user, ...(l.agent ? { agent: l.agent } : {}), session: l.session, roles: l.roles ?? [], ...(l.scope ? { scope: parseScopeClaim(l.scope) } : {}),
    issuedAt: Date.parse(l.issued_at), expiresAt: Date.parse(l.expires_at), kid: l.kid,
  };
}

/** Appends a minted token; now and then the file is rewritten without the expired ones. */
function recordMinted(dataDir: string, t: MintedToken, now: number): void {
  const file = path.join(ensureDataDir(dataDir), TOKENS_FILE);
  fs.appendFileSync(file, `${JSON.stringify(lineOf(t))}\n`, { mode: 0o600 });
  const { tokens, unreadable } = readRegistry(dataDir);
  if (tokens.length > 1000 && unreadable === 0) {
    const live = tokens.filter((x) => x.expiresAt > now);
    if (live.length < tokens.length) writePrivateFile(file, live.map((x) => `${JSON.stringify(lineOf(x))}\n`).join(''));
  }
}

/** Every token the registry records; lines that do not read are counted, not guessed at. */
export function readRegistry(dataDir: string): { tokens: MintedToken[]; unreadable: number } {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dataDir, TOKENS_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { tokens: [], unreadable: 0 };
    throw err;
  }
  const tokens: MintedToken[] = [];
  let unreadable = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const t = fromLine(JSON.parse(line) as MintedLine);
      if (typeof t.id !== 'string' || !Number.isFinite(t.expiresAt) || !Number.isFinite(t.issuedAt)) throw new Error('incomplete');
      tokens.push(t);
    } catch {
      unreadable++;
    }
  }
  return { tokens, unreadable };
}

/** A registry entry as the identity a proxy would verify from its token, for revocation checks. */
export function identityOf(t: MintedToken): Identity {
  return {
    user: t.user, agent: t.agent ?? 'default', session: t.session, roles: t.roles, issuer: 'tollgate',
    token: { id: t.id, issuedAt: t.issuedAt, expiresAt: t.expiresAt, kid: t.kid, agent: t.agent, scope: t.scope },
  };
}

/** The tokens still live: not expired, not revoked (nor signed by a revoked key), newest first. */
export function liveTokens(tokens: readonly MintedToken[], revocations: RevocationSet, revokedKeys: ReadonlySet<string>, now: number): MintedToken[] {
  return tokens.filter((t) => t.expiresAt > now && !revokedKeys.has(t.kid) && !revocations.match(identityOf(t))).sort((a, b) => b.issuedAt - a.issuedAt);
}

/** When each token was last used, as the proxy last wrote it. */
export function readTokenUse(dataDir: string): Map<string, number> {
  try {
    const doc = JSON.parse(fs.readFileSync(path.join(dataDir, TOKEN_USE_FILE), 'utf8')) as Record<string, unknown>;
    const out = new Map<string, number>();
    for (const [id, at] of Object.entries(doc)) if (typeof at === 'string' && Number.isFinite(Date.parse(at))) out.set(id, Date.parse(at));
    return out;
  } catch {
    return new Map();
  }
}

/**
 * Last use per token, kept in memory by the proxy on each call and written to the data dir at
 * most every `flushMs` (and at stop): a disk write per call would cost more than the call's check.
 */
export class TokenUseLog {
  private readonly pending = new Map<string, number>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly dataDir: string,
    private readonly flushMs = 10_000,
  ) {}

  note(tokenId: string, at: number): void {
    this.pending.set(tokenId, at);
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  /** Merges the uses noted since the last flush into the file, dropping tokens no longer in the registry. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const merged = readTokenUse(this.dataDir);
    for (const [id, at] of this.pending) if ((merged.get(id) ?? 0) < at) merged.set(id, at);
    this.pending.clear();
    const known = new Set(readRegistry(this.dataDir).tokens.map((t) => t.id));
    const doc: Record<string, string> = {};
    for (const [id, at] of merged) if (known.has(id)) doc[id] = new Date(at).toISOString();
    try {
      writePrivateFile(path.join(this.dataDir, TOKEN_USE_FILE), `${JSON.stringify(doc)}\n`);
    } catch {
      // Last use is a convenience for `token list`; a data dir that cannot take it loses nothing else.
    }
  }
}
