// The kinds of error the proxy answers in a provider's own shape.
export type ErrorKind =
  | 'rate-limit'
  | 'budget'
  | 'trace'
  | 'entitlement'
  | 'context'
  | 'identity'
  | 'bad-request'
  | 'too-large'
  | 'not-found'
  | 'upstream'
  | 'timeout'
  | 'unavailable';
