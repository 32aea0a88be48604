// Failures the proxy answers itself, each with a stable reason. The mapping from reason to HTTP
// status lives here and nowhere else.

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

const statuses: Record<ProxyFailure, number> = {
  'malformed-request': 400,
  'body-too-large': 413,
  'body-timeout': 408,
  'bad-path': 400,
  'unknown-provider': 404,
  'unknown-route': 404,
  'method-not-allowed': 405,
  'upstream-key-missing': 502,
  'upstream-unreachable': 502,
  'upstream-timeout': 504,
  // What proxies record for a client that left before its answer (nobody reads it).
  'client-closed': 499,
  'forbidden-caller': 403,
  'ledger-unavailable': 503,
  'store-unavailable': 503,
  draining: 503,
};

export class ProxyError extends Error {
  constructor(
    readonly reason: ProxyFailure,
    message: string,
  ) {
    super(message);
    this.name = 'ProxyError';
  }
  get status(): number {
    return statuses[this.reason];
  }
  static is(err: unknown, reason?: ProxyFailure): err is ProxyError {
    return err instanceof ProxyError && (reason === undefined || err.reason === reason);
  }
}
