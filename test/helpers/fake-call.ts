import assert from 'node:assert/strict';
import type { CallTransport, RelayOrder, RelayOutcome, UpstreamCall, UpstreamHandlers } from '../../src/pipeline/call-transport';
import type { ProxyError } from '../../src/pipeline/errors';

// A call's transport without sockets, for driving the call pipeline in plain mocha.

/** What the upstream does with a call, given the handlers the pipeline gave it. */
export type UpstreamBehaviour = (request: UpstreamCall, handlers: UpstreamHandlers, call: FakeCall) => void;

/** A client request and its answer, without sockets. */
export class FakeCall implements CallTransport {
  readonly answers: { status: number; headers: Readonly<Record<string, string>>; body: { error: { message: string; type: string } } }[] = [];
  readonly set: Record<string, string> = {};
  sent?: UpstreamCall;
  relayed?: RelayOrder;
  aborted = false;

  constructor(
    private readonly body: unknown,
    private readonly upstream: UpstreamBehaviour,
    private readonly headers: Record<string, string> = { authorization: 'Bearer a-token' },
    readonly method = 'POST',
  ) {}

  header(name: string): string | undefined {
    return this.headers[name];
  }

  readBody(): Promise<Buffer> {
    return Promise.resolve(Buffer.from(JSON.stringify(this.body)));
  }

  setHeader(name: string, value: string): void {
    this.set[name] = value;
  }

  answer(status: number, headers: Readonly<Record<string, string>>, json: string): void {
    this.answers.push({ status, headers, body: JSON.parse(json) as FakeCall['answers'][number]['body'] });
  }

  sendUpstream(request: UpstreamCall, handlers: UpstreamHandlers): void {
    this.sent = request;
    this.upstream(request, handlers, this);
  }
}

/** An upstream that answers 200 with the usage given, as the relay would have read it. */
export function answering(usage: { input: number; output: number }): UpstreamBehaviour {
  return (_request, handlers, call) =>
    queueMicrotask(() =>
      handlers.onResponse({
        relay: (order): Promise<RelayOutcome> => {
          call.relayed = order;
          return Promise.resolve({ reading: { input: usage.input, output: usage.output, outputText: '' }, aborted: false, status: 200 });
        },
        abort: () => (call.aborted = true),
      }),
    );
}

/** An upstream that fails before any response: the client left, or the upstream is unreachable. */
export function failing(err: ProxyError, sent: boolean): UpstreamBehaviour {
  return (_request, handlers) => queueMicrotask(() => handlers.onError(err, sent));
}

/** An upstream the call must never reach. */
export function unreachable(why: string): UpstreamBehaviour {
  return () => assert.fail(why);
}
