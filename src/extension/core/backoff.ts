// When to restart a proxy that died: exponential backoff, reset after a stable run, and a stop
// after too many quick deaths so a broken install does not spin the CPU forever.

export interface BackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
  /** A run at least this long counts as healthy and resets the backoff. */
  readonly stableMs: number;
  /** Consecutive quick failures before giving up. */
  readonly maxFailures: number;
}

export const defaultBackoff: BackoffOptions = { baseMs: 500, maxMs: 30_000, stableMs: 60_000, maxFailures: 8 };

export class RestartBackoff {
  private failures = 0;

  constructor(private readonly options: BackoffOptions = defaultBackoff) {}

  /** The delay before the next start after a run of `ranMs`, or undefined to give up. */
  next(ranMs: number): number | undefined {
    if (ranMs >= this.options.stableMs) this.failures = 0;
    this.failures++;
    if (this.failures > this.options.maxFailures) return undefined;
    return Math.min(this.options.maxMs, this.options.baseMs * 2 ** (this.failures - 1));
  }

  reset(): void {
    this.failures = 0;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }
}
