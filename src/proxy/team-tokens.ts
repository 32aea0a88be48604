import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RedisTokens } from '../store/redis/tokens';
import { readRegistry, TOKENS_FILE } from '../store/token-registry';

// A team proxy's part in the team's token list: the tokens minted from its data dir are registered
// in Redis (as `tollgate token --store` registers its own), and the calls it verifies note their
// token's last use there, at most once a minute per token: a write per call would cost more than
// the call's check, and `token list` shows a last use, not a count.

/** The least time between two writes of one token's last use to the team's store, ms. */
export const TEAM_USE_WRITE_MS = 60_000;
/** Tokens whose last write is remembered at most: the memory is bounded, the writes merely repeat. */
const MAX_REMEMBERED = 10_000;

export interface TeamTokensOptions {
  readonly dataDir: string;
  readonly tokens: RedisTokens;
  readonly log: { warn(message: string): void; info(message: string): void };
  readonly clock: () => number;
  /** How often the data dir's registry is looked at for new tokens, ms. */
  readonly syncMs?: number;
  readonly useWriteMs?: number;
}

export class TeamTokens {
  private readonly written = new Map<string, number>();
  private readonly shared = new Set<string>();
  private seen = '';
  private problem = '';
  private timer?: NodeJS.Timeout;

  constructor(private readonly o: TeamTokensOptions) {}

  /** A verified call used this token now: the team hears of it, unless it did within the last minute. */
  noteUse(tokenId: string, at: number): void {
    const last = this.written.get(tokenId);
    if (last !== undefined && at - last < (this.o.useWriteMs ?? TEAM_USE_WRITE_MS)) return;
    if (this.written.size >= MAX_REMEMBERED) this.written.clear();
    this.written.set(tokenId, at);
    this.o.tokens.noteUse(tokenId, at).then(
      () => this.fine(),
      (err: Error) => this.failed(err),
    );
  }

  /** Registers the live tokens of the data dir's registry the team has not heard of from this proxy. */
  async share(): Promise<void> {
    const file = path.join(this.o.dataDir, TOKENS_FILE);
    let fingerprint = 'none';
    try {
      const stat = fs.statSync(file);
      fingerprint = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    } catch {
      // No registry yet: nothing minted here to share.
    }
    if (fingerprint === this.seen) return;
    try {
      const now = this.o.clock();
      const fresh = readRegistry(this.o.dataDir).tokens.filter((t) => t.expiresAt > now && !this.shared.has(t.id));
      await this.o.tokens.register(fresh, now);
      for (const t of fresh) this.shared.add(t.id);
      this.seen = fingerprint;
      this.fine();
    } catch (err) {
      this.failed(err as Error);
    }
  }

  start(): void {
    void this.share();
    this.timer = setInterval(() => void this.share(), this.o.syncMs ?? 2_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private fine(): void {
    if (this.problem === '') return;
    this.problem = '';
    this.o.log.info("tokens: the team's token list takes this proxy's tokens and uses again");
  }

  private failed(err: Error): void {
    if (err.message === this.problem) return;
    this.problem = err.message;
    this.o.log.warn(`tokens: the team's token list cannot be updated (${err.message}); tokens still verify, only token list --store misses them`);
  }
}
