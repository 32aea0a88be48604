import type { ServerResponse } from 'node:http';

// JSON-RPC as the MCP gateway checks it before any message reaches a server, and the errors it
// answers with. The gateway's own refusals use one code in the server-error range, with what a
// program needs in `data` (the rule, the tool, the decision record).

export type JsonRpcId = string | number;

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const INTERNAL_ERROR = -32603;
/** As the MCP SDK answers an unknown or closed session. */
export const SESSION_NOT_FOUND = -32001;
/** No or a bad session token. */
export const UNAUTHORIZED = -32040;
/** Refused by the bundle: a tool outside the entitlement, a limit, a changed definition, an approval. */
export const REFUSED = -32041;
/** The MCP server could not be reached, started, or went away. */
export const SERVER_UNAVAILABLE = -32042;

/** Most messages one POST may carry (the protocol's current revision sends one). */
export const MAX_BATCH = 64;
/** Longest string id a message may carry. */
const MAX_ID_LENGTH = 256;

export interface JsonRpcErrorBody {
  readonly jsonrpc: '2.0';
  readonly id: JsonRpcId | null;
  readonly error: { readonly code: number; readonly message: string; readonly data?: unknown };
}

export function errorBody(id: JsonRpcId | null, code: number, message: string, data?: unknown): JsonRpcErrorBody {
  return { jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } };
}

/** An HTTP answer that is a JSON-RPC error (the transport's own failures: 4xx and 5xx). */
export function answerError(res: ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(errorBody(null, code, message));
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function validId(id: unknown): boolean {
  if (typeof id === 'string') return id.length <= MAX_ID_LENGTH;
  return typeof id === 'number' && Number.isSafeInteger(id);
}

/**
 * What is wrong with a POSTed body's messages, or undefined: at most MAX_BATCH messages, each an
 * object, each id a short string or a safe integer (an id is echoed and kept while its request is
 * open, so a huge one is refused rather than held).
 */
export function checkMessages(body: unknown): string | undefined {
  const messages = Array.isArray(body) ? body : [body];
  if (messages.length === 0) return 'an empty batch';
  if (messages.length > MAX_BATCH) return `a batch of ${messages.length} messages; the gateway takes at most ${MAX_BATCH} in one request`;
  for (const m of messages) {
    if (m === null || typeof m !== 'object' || Array.isArray(m)) return 'a message that is not a JSON-RPC object';
    const o = m as Record<string, unknown>;
    if (o.jsonrpc !== '2.0') return "a message without jsonrpc: '2.0'";
    if ('id' in o && o.id !== null && !validId(o.id)) return `a message id that is neither a string of at most ${MAX_ID_LENGTH} characters nor a safe integer`;
    if ('method' in o && (typeof o.method !== 'string' || o.method.length > 256)) return 'a method that is not a short string';
  }
  return undefined;
}

/** Whether a body is a single initialize request: the only POST that may open a session. */
export function isInitialize(body: unknown): boolean {
  return body !== null && typeof body === 'object' && !Array.isArray(body) && (body as Record<string, unknown>).method === 'initialize' && 'id' in body;
}
