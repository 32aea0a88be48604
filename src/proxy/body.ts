import type { IncomingMessage } from 'node:http';
import { ProxyError } from '../pipeline/errors';
import { parseJsonPieces } from './json-pieces';
import { jsonStringEnd } from '../pipeline/json-text';

/** Above this declared length, chunks are copied into place as they arrive rather than joined at the end. */
const COPY_AS_READ = 64 * 1024;

/**
 * Reads a request body up to `limit` bytes. A declared length over the limit is refused before a
 * byte is read, and a streamed body stops being read the moment it passes the limit. A large body
 * of declared length is copied chunk by chunk into a buffer of its own (which can then move to a
 * describe thread whole): joining megabytes at the end would hold the request thread at once.
 */
export function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new ProxyError('body-too-large', `the request body is ${declared} bytes, over the ${limit}-byte limit`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const into = Number.isInteger(declared) && declared > COPY_AS_READ ? Buffer.allocUnsafeSlow(declared) : undefined;
    let size = 0;
    /** Bytes copied into `into`; Node's parser stops at the declared length, but nothing relies on it. */
    let copied = 0;
    let settled = false;
    const finish = (err: Error | undefined, body?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.removeListener('data', onData);
      if (err) {
        // Read no further: the connection is not worth keeping after a refused body.
        req.pause();
        reject(err);
      } else resolve(body!);
    };
    const timer = setTimeout(() => finish(new ProxyError('body-timeout', `the request body did not arrive within ${Math.round(timeoutMs / 1000)}s`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      if (size + chunk.length > limit) return finish(new ProxyError('body-too-large', `the request body is over the ${limit}-byte limit`));
      if (into && chunks.length === 0 && copied + chunk.length <= into.length) copied += chunk.copy(into, copied);
      else chunks.push(chunk);
      size += chunk.length;
    };
    req.on('data', onData);
    req.once('end', () => finish(undefined, into && chunks.length === 0 ? into.subarray(0, copied) : Buffer.concat(into ? [into.subarray(0, copied), ...chunks] : chunks, size)));
    req.once('error', (err) => finish(err));
    req.once('aborted', () => finish(new ProxyError('malformed-request', 'the client closed the connection before the body ended')));
  });
}

/**
 * Deepest nesting a request body may have. Real API bodies (tool schemas included) stay within a
 * few dozen levels; JSON.parse accepts any depth, but what reads the result afterwards (counting,
 * rewriting, JSON.stringify) recurses and would run out of stack somewhere past the decision.
 */
export const MAX_JSON_DEPTH = 256;

/** Whether a JSON text nests objects and arrays deeper than `max`: one pass, strings skipped. */
export function nestsDeeperThan(body: Buffer, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === 0x22) {
      // Skip the string, escapes included; an unclosed one holds no brackets.
      const after = jsonStringEnd(body, i);
      if (after < 0) return false;
      i = after - 1;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/**
 * Bodies this long or longer are parsed piece by piece (json-pieces.ts), so no string of them
 * reaches V8's large-object space (128 KiB, or 64 Ki characters of two-byte text).
 */
export const PIECEWISE_PARSE_BYTES = 64 * 1024;

/** Parses a JSON body; an empty body is undefined (GET requests). */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  if (nestsDeeperThan(body, MAX_JSON_DEPTH)) throw new ProxyError('malformed-request', `the request body is nested too deeply (more than ${MAX_JSON_DEPTH} levels)`);
  try {
    return parseJsonPieces(body, PIECEWISE_PARSE_BYTES);
  } catch (err) {
    throw new ProxyError('malformed-request', `the request body is not valid JSON: ${(err as Error).message}`);
  }
}
