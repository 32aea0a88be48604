import type { MintedToken } from '../token-registry';
import { mintedJson, parseMintedToken } from '../token-registry';
import { hashPairs } from './codec';
import type { ScriptConnection } from './connection';

/*
 * Team mode registers minted tokens in Redis too, so `tollgate token list --store` shows the tokens
 * minted anywhere in the team: `{tollgate:<namespace>}:tokens` (token id -> `<expires ms>|<JSON>`,
 * never the token itself) and `:token-use` (token id -> when a proxy of the team last saw it, ms).
 * A token is forgotten with its last use once it has expired; a use is kept only for a token the
 * team registered, so unknown ids cannot grow the hash.
 */

export interface TeamTokenList {
  readonly tokens: MintedToken[];
  /** Last use per token id, ms. */
  readonly uses: Map<string, number>;
  /** Entries that do not read as a token (or a time): not shown, and said. */
  readonly unreadable: number;
}

function parseValue(value: string): MintedToken {
  const m = /^\d+\|(.*)$/s.exec(value);
  if (!m) throw new Error('not <expires>|<json>');
  return parseMintedToken(JSON.parse(m[1]!));
}

export class RedisTokens {
  readonly key: string;
  readonly useKey: string;

  constructor(
    private readonly connection: ScriptConnection,
    /** The namespace's hash tag, `{tollgate:<namespace>}`. */
    tag: string,
  ) {
    this.key = `${tag}:tokens`;
    this.useKey = `${tag}:token-use`;
  }

  /** Registers minted tokens (again is harmless), dropping the expired ones. */
  async register(tokens: readonly MintedToken[], now: number): Promise<void> {
    if (tokens.length === 0) return;
    const args = [String(now)];
    for (const t of tokens) args.push(t.id, String(t.expiresAt), JSON.stringify(mintedJson(t)));
    await this.connection.run('tokenAdd', [this.key, this.useKey], args);
  }

  /** Notes a use of a registered token; a use earlier than the one kept changes nothing. */
  async noteUse(tokenId: string, at: number): Promise<void> {
    await this.connection.run('tokenUse', [this.key, this.useKey], [tokenId, String(Math.floor(at))]);
  }

  /** Every token the team registered, with their last uses; entries that do not read are counted. */
  async list(): Promise<TeamTokenList> {
    const tokens: MintedToken[] = [];
    let unreadable = 0;
    for (const [field, value] of hashPairs(await this.connection.run('hashAll', [this.key], []))) {
      try {
        const t = parseValue(value);
        if (t.id !== field) throw new Error('kept under another id');
        tokens.push(t);
      } catch {
        unreadable++;
      }
    }
    const uses = new Map<string, number>();
    for (const [id, at] of hashPairs(await this.connection.run('hashAll', [this.useKey], []))) {
      const n = Number(at);
      if (/^\d{1,15}$/.test(at) && Number.isSafeInteger(n)) uses.set(id, n);
      else unreadable++;
    }
    return { tokens, uses, unreadable };
  }
}
