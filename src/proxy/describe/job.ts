import { MalformedRequestError } from '../../contracts/call';
import type { DetectorName } from '../../engine/classify';
import { detect } from '../../engine/classify';
import { adapterFor } from '../../providers/registry';
import { parseJsonBody } from '../body';
import { rawBody } from '../../pipeline/request-body';
import type { BodyWhere, Described } from '../../pipeline/describe-port';
import type { RequestBody } from '../../pipeline/request-body';
import { ProxyError } from '../../pipeline/errors';
import type { ProxyFailure } from '../../pipeline/errors';

// Reading a request body into the call the engine decides: parse the JSON, describe the call
// (which counts its tokens) and, off the request thread, run the policy's detectors on its texts.
// The same work on either thread, and the errors it ends in as they cross between threads.

/**
 * Parses and describes a body. Given `detectors` (on a describe thread), runs them too and keeps
 * only their findings, and keeps the body as its bytes and layout rather than the parsed whole.
 */
export function describeBody(bytes: Buffer, r: BodyWhere, detectors?: readonly DetectorName[]): Described {
  const json = r.passthrough ? undefined : parseJsonBody(bytes);
  if ((r.method === 'POST' || r.method === 'PUT') && json === undefined) throw new ProxyError('malformed-request', 'the request body is empty; a JSON object is required');
  const adapter = adapterFor(r.style);
  const call = adapter.describe(r.provider, r.route, r.method, json, r.settings);
  const isObject = json !== null && typeof json === 'object' && !Array.isArray(json);
  if (!detectors) return { body: isObject ? { kind: 'parsed', json: json as Record<string, unknown> } : { kind: 'none' }, call };
  const body: RequestBody = isObject ? rawBody(bytes, json as Record<string, unknown>, adapter.rewriteFields) : { kind: 'none' };
  return { body, call: { ...call, texts: [] }, detected: detect(call.texts, detectors) };
}

/** A failure as it crosses threads: the request thread rebuilds the error the caller branches on. */
export type WireFailure =
  | { readonly kind: 'proxy'; readonly reason: ProxyFailure; readonly message: string }
  | { readonly kind: 'malformed'; readonly message: string }
  /** Nesting deeper than the stack: counting or copying the body recursed too far. */
  | { readonly kind: 'too-deep'; readonly message: string }
  | { readonly kind: 'failed'; readonly message: string };

export function toWire(err: unknown): WireFailure {
  const message = err instanceof Error ? err.message : String(err);
  if (ProxyError.is(err)) return { kind: 'proxy', reason: err.reason, message };
  if (MalformedRequestError.is(err)) return { kind: 'malformed', message };
  if (err instanceof RangeError) return { kind: 'too-deep', message };
  return { kind: 'failed', message };
}

export function fromWire(f: WireFailure): Error {
  switch (f.kind) {
    case 'proxy':
      return new ProxyError(f.reason, f.message);
    case 'malformed':
      return new MalformedRequestError(f.message);
    case 'too-deep':
      return new RangeError(f.message);
    case 'failed':
      return new DescribeThreadError('failed', `describing the request failed on its thread: ${f.message}`);
  }
}

/** A describe thread that failed or was lost while it held a request. */
export class DescribeThreadError extends Error {
  constructor(
    readonly reason: 'failed' | 'thread-lost',
    message: string,
  ) {
    super(message);
    this.name = 'DescribeThreadError';
  }
  static is(err: unknown, reason?: DescribeThreadError['reason']): err is DescribeThreadError {
    return err instanceof DescribeThreadError && (reason === undefined || err.reason === reason);
  }
}
