import type { ErrorKind } from '../contracts/refusal';

// Failures the proxy answers itself, each with a stable reason.

export type ProxyFailure =
  | 'malformed-request'
  | 'body-too-large'
  | 'body-timeout'
  | 'bad-path'
  | 'unknown-provider'
  | 'unknown-route'
  | 'method-not-allowed'
  | 'upstream-key-missing'
  | 'upstream-unreachable'
  | 'upstream-timeout'
  | 'client-closed'
  | 'forbidden-caller'
  | 'ledger-unavailable'
  | 'store-unavailable'
  | 'draining';

// The one map from a failure to its answer: its HTTP status and which of the provider's error
// shapes carries it. Refusals by policy have theirs in contracts/refusal.ts.
const answers: Record<ProxyFailure, { readonly status: number; readonly error: ErrorKind }> = {
  'malformed-request': { status: 400, error: 'bad-request' },
  'body-too-large': { status: 413, error: 'too-large' },
  'body-timeout': { status: 408, error: 'bad-request' },
  'bad-path': { status: 400, error: 'bad-request' },
  'unknown-provider': { status: 404, error: 'not-found' },
  'unknown-route': { status: 404, error: 'not-found' },
  'method-not-allowed': { status: 405, error: 'bad-request' },
  'upstream-key-missing': { status: 502, error: 'upstream' },
  'upstream-unreachable': { status: 502, error: 'upstream' },
  'upstream-timeout': { status: 504, error: 'timeout' },
  // What proxies record for a client that left before its answer (nobody reads it).
  'client-closed': { status: 499, error: 'bad-request' },
  'forbidden-caller': { status: 403, error: 'forbidden' },
  'ledger-unavailable': { status: 503, error: 'unavailable' },
  'store-unavailable': { status: 503, error: 'unavailable' },
  draining: { status: 503, error: 'unavailable' },
};

export function failureAnswer(reason: ProxyFailure): { readonly status: number; readonly error: ErrorKind } {
  return answers[reason];
}

export class ProxyError extends Error {
  constructor(
    readonly reason: ProxyFailure,
    message: string,
  ) {
    super(message);
    this.name = 'ProxyError';
  }
  get status(): number {
    return answers[this.reason].status;
  }
  /** The provider error shape that answers it. */
  get kind(): ErrorKind {
    return answers[this.reason].error;
  }
  static is(err: unknown, reason?: ProxyFailure): err is ProxyError {
    return err instanceof ProxyError && (reason === undefined || err.reason === reason);
  }
}
