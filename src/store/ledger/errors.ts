// Ledger failures carry a reason so callers (the proxy's 503, the CLI's exit code) branch on a
// stable value, never on message text.
export type LedgerErrorReason =
  | 'locked' // another live process holds the data dir
  | 'corrupt' // the journal or head cannot be trusted; a person must look (`tollgate audit verify`)
  | 'unavailable' // writes are failing (disk full, read-only); the ledger retries and recovers
  | 'closed' // used after close()
  | 'key' // the signing key is missing, unreadable or open to other users
  | 'missing' // there is no ledger where one was expected
  | 'invalid'; // an entry that cannot be recorded (e.g. a non-finite number)

export class LedgerError extends Error {
  readonly reason: LedgerErrorReason;
  constructor(reason: LedgerErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LedgerError';
    this.reason = reason;
  }
  static is(err: unknown, reason?: LedgerErrorReason): err is LedgerError {
    return err instanceof LedgerError && (reason === undefined || err.reason === reason);
  }
}

/** The command a person runs to see what is wrong with a ledger, for messages that refuse to go on. */
export function verifyHint(dataDir: string): string {
  const quoted = /^[\w@%+=:,./-]+$/.test(dataDir) ? dataDir : `'${dataDir.replace(/'/g, `'\\''`)}'`;
  return `Inspect it with: tollgate audit verify --data-dir ${quoted}`;
}

/** Describes a failed write in words an operator can act on. */
export function describeWriteError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const detail = err instanceof Error ? err.message : String(err);
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return `disk full: ${detail}`;
    case 'EROFS':
      return `data dir is on a read-only file system: ${detail}`;
    case 'EACCES':
    case 'EPERM':
      return `no permission to write the data dir: ${detail}`;
    case 'ELOWSPACE':
      return `disk nearly full: ${detail}`;
    case 'EIO':
      return `I/O error writing the ledger: ${detail}`;
    default:
      return `cannot write the ledger: ${detail}`;
  }
}

/** A LedgerError as it crosses threads: its reason survives, so callers can still branch on it. */
export interface WireError {
  reason: LedgerErrorReason | null;
  message: string;
}

export function toWire(err: unknown): WireError {
  return { reason: LedgerError.is(err) ? err.reason : null, message: err instanceof Error ? err.message : String(err) };
}

export function fromWire(e: WireError): Error {
  return e.reason ? new LedgerError(e.reason, e.message) : new Error(e.message);
}
