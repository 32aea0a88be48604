import type { ProviderAdapter } from '../providers/adapter';
import type { ResponseNames, UsageReading } from '../providers/usage';
import type { ProxyError } from './errors';

// What the pipeline needs from the transport around it, and nothing of how it is done: the
// proxy implements these over node:http, the pipeline's tests over plain objects.

/** One client request and its answer, as the pipeline drives them. */
export interface CallTransport {
  /** The request method: GET, POST, HEAD. */
  readonly method: string;
  /** A request header's first value. */
  header(name: string): string | undefined;
  /** The request body, within the transport's size and time limits (or a ProxyError). */
  readBody(): Promise<Buffer>;
  /** Sets a header on whatever answer follows. */
  setHeader(name: string, value: string): void;
  /** Answers with a whole JSON body; an answer already begun is cut off instead. */
  answer(status: number, headers: Readonly<Record<string, string>>, json: string): void;
  /** Sends the call upstream. Exactly one of the handlers is called, once. */
  sendUpstream(request: UpstreamCall, handlers: UpstreamHandlers): void;
}

/** The request as it goes to the provider. */
export interface UpstreamCall {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  /** The body in parts, written one after another (a large body is never joined into one). */
  readonly body: readonly Buffer[];
}

export interface UpstreamHandlers {
  onResponse(reply: UpstreamReply): void;
  /**
   * No response came: the upstream could not be reached, did not answer in time, or the client
   * left first (`client-closed`). `sent`: the whole request reached the upstream, which may then
   * have done (and billed) the work.
   */
  onError(err: ProxyError, sent: boolean): void;
}

/** A response the upstream began; the pipeline relays it to the client or stops it. */
export interface UpstreamReply {
  /** Copies the response to the client, reading usage on the way; resolves at its end. */
  relay(order: RelayOrder): Promise<RelayOutcome>;
  /** Stops the call upstream without relaying anything. */
  abort(): void;
}

export interface RelayOrder {
  readonly adapter: ProviderAdapter;
  /** Headers added to the upstream's own. */
  readonly headers: Readonly<Record<string, string>>;
  /** Usage events the client did not ask for are dropped from the stream. */
  readonly stripUsage: boolean;
  /** Values that must never reach the client (the upstream key). */
  readonly secrets: readonly string[];
}

export interface RelayOutcome {
  readonly reading: UsageReading;
  /** The response's id and model, where it names them. */
  readonly response?: ResponseNames;
  /** The response ended before its end: the client left or the upstream broke off. */
  readonly aborted: boolean;
  readonly status: number;
}
