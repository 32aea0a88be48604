// The kinds of error the proxy answers in a provider's own shape.
export type ErrorKind =
  | 'rate-limit'
  | 'budget'
  | 'trace'
  | 'entitlement'
  /** The caller itself is refused (a web page, a name that is not the proxy's). */
  | 'forbidden'
  | 'context'
  | 'identity'
  | 'bad-request'
  | 'too-large'
  | 'not-found'
  | 'upstream'
  | 'timeout'
  | 'unavailable';
