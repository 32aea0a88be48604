export type ScanErrorReason =
  | 'not-a-repository'
  | 'git-failed'
  | 'path-not-found'
  | 'baseline-unreadable'
  | 'worker-failed'
  | 'read-failed'
  | 'hook-conflict';

/** A scan could not do its job; the command exits 2 and says why. Messages never hold a secret. */
export class ScanError extends Error {
  constructor(
    readonly reason: ScanErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'ScanError';
  }

  static is(err: unknown, reason?: ScanErrorReason): err is ScanError {
    return err instanceof ScanError && (reason === undefined || err.reason === reason);
  }
}
