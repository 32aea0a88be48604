// Store failures carry a reason rather than a message to match. The proxy answers any of them as
// its own 'store-unavailable' failure, whose status (503) is in proxy/errors.ts.
export type StoreErrorReason =
  | 'unavailable' // Redis cannot be reached or did not answer in time; the store reconnects
  | 'config' // the store spec or URL cannot be used
  | 'script' // Redis answered a script with an error (a bug or an incompatible server)
  | 'closed'; // used after close()

export class StoreError extends Error {
  readonly reason: StoreErrorReason;
  constructor(reason: StoreErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.reason = reason;
  }
  static is(err: unknown, reason?: StoreErrorReason): err is StoreError {
    return err instanceof StoreError && (reason === undefined || err.reason === reason);
  }
}
