import type { Settlement } from '../engine/decision';
import type { ResponseNames } from '../providers/usage';
import type { DecidedCall, IdentifiedCall } from './call-context';

/**
 * What the ledger made of an event that must be on record before its call is answered: the
 * record's id and whether it became durable, or why nothing could be appended.
 */
export type Recording =
  | { readonly ok: true; readonly id: string; readonly durable: Promise<boolean> }
  | { readonly ok: false; readonly problem: string };

/**
 * An event whose record the call waits for (fail closed: a call that cannot be recorded is not
 * made). The ledger's subscriber appends the record and hands back what it appended; with no
 * subscriber, nothing is on record and the call is refused as unrecordable.
 */
export interface RecordedEvent {
  recordedAs(recording: Recording): void;
  /** The id of the record once the ledger's subscriber has appended it: for listeners after it (a span names its record). */
  recordId(): string | undefined;
}

/** W3C trace context headers (https://www.w3.org/TR/trace-context/). */
export interface TraceHeaders {
  readonly traceparent: string;
  readonly tracestate?: string;
}

/** Refused before any identity was verified: counted per window, not recorded alone. */
export interface UnverifiedEvent {
  readonly provider: string;
  readonly status: number;
  readonly reason: string;
  /** The id of the record that counts it, once that record is durable. */
  countedIn(id: Promise<string>): void;
}

/** Failed after identity and before a decision: an unreadable body, an unreachable store. */
export interface FailedEvent extends RecordedEvent {
  readonly call: IdentifiedCall;
  readonly status: number;
  readonly message: string;
}

/** The engine decided the call, whatever the outcome. */
export interface DecidedEvent {
  readonly call: DecidedCall;
}

/** The decision refused the call: nothing goes upstream. */
export interface RefusedEvent extends RecordedEvent {
  readonly call: DecidedCall;
}

/** Admitted, but the call could not go out (no upstream key): its hold was released. */
export interface ReleasedEvent extends RecordedEvent {
  readonly call: DecidedCall;
  readonly status: number;
}

/** Admitted and going upstream: the decision as forwarded. */
export interface ForwardedEvent extends RecordedEvent {
  readonly call: DecidedCall;
  /** Why the decision is not quite what the bundle says (fail-open team mode), if so. */
  readonly note?: string;
  /**
   * A tracer's span for the call: the upstream request carries its context in place of the
   * client's trace headers. Without a tracer, the client's pass as they came.
   */
  tracedAs(context: TraceHeaders): void;
}

/** A forwarded call has ended and been charged what it used. */
export interface SettledEvent {
  readonly call: DecidedCall;
  readonly settlement: Settlement;
  /** The status the client saw (or the upstream failure's). */
  readonly status: number;
  /** The call ended before its end: the client left or the upstream broke off. */
  readonly aborted: boolean;
  /** The response's id and the model that served it, where the upstream named them. */
  readonly response?: ResponseNames;
}

/** Every event of one call, by name. */
export interface CallEventMap {
  unverified: UnverifiedEvent;
  failed: FailedEvent;
  decided: DecidedEvent;
  refused: RefusedEvent;
  released: ReleasedEvent;
  forwarded: ForwardedEvent;
  settled: SettledEvent;
}

export type CallEventName = keyof CallEventMap;

type Listener<K extends CallEventName> = (event: CallEventMap[K]) => void;

/**
 * The pipeline's events. Listeners run synchronously in the order they subscribed, so the ledger's
 * recorder has handed back its record by the time `emit` returns. A listener that throws is the
 * listener's failure, not the call's: it is reported and the others still run.
 */
export class CallEvents {
  private readonly listeners: { [K in CallEventName]?: Listener<K>[] } = {};

  constructor(private readonly onListenerError: (err: Error, event: CallEventName) => void = () => undefined) {}

  on<K extends CallEventName>(name: K, listener: Listener<K>): () => void {
    const list = (this.listeners[name] ??= []) as Listener<K>[];
    list.push(listener);
    return () => {
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
    };
  }

  emit<K extends CallEventName>(name: K, event: CallEventMap[K]): void {
    const list = this.listeners[name] as Listener<K>[] | undefined;
    if (!list) return;
    for (const listener of [...list]) {
      try {
        listener(event);
      } catch (err) {
        this.onListenerError(err as Error, name);
      }
    }
  }
}
