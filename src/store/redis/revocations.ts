import type { Revocation } from '../../engine/identity/revocation';
import { parseRevocation, revocationField, revocationJson, RevocationFormatError } from '../../engine/identity/revocation';
import type { ScriptConnection } from './connection';

/*
 * Team mode keeps the revocations in Redis under `{tollgate:<namespace>}:revocations`, so a token
 * revoked through one proxy (or by `tollgate token revoke --store`) is refused by every proxy of
 * the team on its next request: each looks up the fields a token could be revoked under, in one
 * round trip per request.
 */

function parseValue(value: string): Revocation {
  const m = /^\d+\|\d+\|(.*)$/s.exec(value);
  if (!m) throw new RevocationFormatError('a revocation in Redis is not <revoked>|<expires>|<json>');
  let raw: unknown;
  try {
    raw = JSON.parse(m[1]!);
  } catch {
    throw new RevocationFormatError('a revocation in Redis is not JSON');
  }
  return parseRevocation(raw);
}

export class RedisRevocations {
  readonly key: string;

  constructor(
    private readonly connection: ScriptConnection,
    /** The namespace's hash tag, `{tollgate:<namespace>}`. */
    tag: string,
  ) {
    this.key = `${tag}:revocations`;
  }

  /** Keeps a revocation (unless a later one is kept under its field); true when it was new. */
  async add(r: Revocation, now: number): Promise<boolean> {
    const result = await this.connection.run('revocationAdd', [this.key], [revocationField(r), String(r.revokedAt), String(r.expiresAt), JSON.stringify(revocationJson(r)), String(now)]);
    return Number(result) === 1;
  }

  /** The revocations kept under these fields. Throws RevocationFormatError for one that does not read. */
  async lookup(fields: readonly string[]): Promise<Revocation[]> {
    if (fields.length === 0) return [];
    const values = (await this.connection.run('revocationGet', [this.key], fields)) as unknown[];
    return values.filter((v): v is string => typeof v === 'string').map(parseValue);
  }

  /** Every revocation kept, for a proxy to record the ones it has not yet; unreadable ones are skipped and counted. */
  async all(): Promise<{ revocations: Revocation[]; unreadable: number }> {
    const flat = (await this.connection.run('revocationAll', [this.key], [])) as unknown[];
    const revocations: Revocation[] = [];
    let unreadable = 0;
    for (let i = 1; i < flat.length; i += 2) {
      try {
        revocations.push(parseValue(String(flat[i])));
      } catch {
        unreadable++;
      }
    }
    return { revocations, unreadable };
  }
}
