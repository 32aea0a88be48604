import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { isJSONRPCRequest, isJSONRPCResultResponse } from '@modelcontextprotocol/sdk/types.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Readable, Writable } from 'node:stream';
import { APPROVAL_TOKEN_HEADER } from '../contracts/approvals';

// A stdio <-> Streamable HTTP bridge: for an MCP client that can only launch a stdio server, this
// process is that server, and passes every message to the gateway's /mcp/<server> with the
// person's session token, and every answer back. Stdout carries the protocol only.

export interface BridgeOptions {
  /** The gateway's endpoint for the server: `<proxy>/mcp/<server>`. */
  readonly endpoint: URL;
  readonly token: string;
  /** A short-lived approval token (tollgate mcp grant), sent with every request. */
  readonly approval?: string;
  readonly agent?: string;
  readonly input: Readable;
  readonly output: Writable;
  /** Diagnostics (stderr): never the token. */
  readonly warn: (message: string) => void;
}

/** Relays until the client closes its end (or the gateway ends the session); resolves then. */
export async function runBridge(o: BridgeOptions): Promise<void> {
  const headers: Record<string, string> = { authorization: `Bearer ${o.token}` };
  if (o.agent) headers['x-tollgate-agent'] = o.agent;
  if (o.approval) headers[APPROVAL_TOKEN_HEADER] = o.approval;
  const http = new StreamableHTTPClientTransport(o.endpoint, { requestInit: { headers } });
  const stdio = new StdioServerTransport(o.input, o.output);
  const initializing = new Set<string | number>();
  let ended!: () => void;
  const done = new Promise<void>((resolve) => (ended = resolve));
  let closing = false;
  const close = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    // The gateway's session (and a stdio server's process behind it) ends with the client.
    await Promise.race([http.terminateSession().catch(() => undefined), new Promise((r) => setTimeout(r, 2_000).unref())]);
    await http.close().catch(() => undefined);
    await stdio.close().catch(() => undefined);
    ended();
  };

  stdio.onmessage = (message: JSONRPCMessage) => {
    if (isJSONRPCRequest(message) && message.method === 'initialize') initializing.add(message.id);
    http.send(message).catch((err: Error) => {
      o.warn(`tollgate mcp bridge: ${err.message}`);
      // The client is owed an answer for a request the gateway did not take.
      if (isJSONRPCRequest(message)) void stdio.send({ jsonrpc: '2.0', id: message.id, error: { code: -32042, message: `the Tollgate gateway did not take the request: ${err.message}` } }).catch(() => undefined);
    });
  };
  http.onmessage = (message: JSONRPCMessage) => {
    if (isJSONRPCResultResponse(message) && initializing.delete(message.id)) {
      const version = (message.result as { protocolVersion?: unknown }).protocolVersion;
      if (typeof version === 'string') http.setProtocolVersion(version);
    }
    void stdio.send(message).catch(() => undefined);
  };
  http.onerror = (err) => o.warn(`tollgate mcp bridge: ${err.message}`);
  http.onclose = () => void close();
  stdio.onclose = () => void close();
  o.input.once('end', () => void close());
  o.input.once('close', () => void close());
  await http.start();
  await stdio.start();
  return done;
}
