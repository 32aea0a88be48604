import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { isJSONRPCErrorResponse, isJSONRPCNotification, isJSONRPCRequest, isJSONRPCResultResponse } from '@modelcontextprotocol/sdk/types.js';
import type { JSONRPCMessage, JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import type { ToolDefinitionBody } from '../../contracts/audit-records';
import type { Identity } from '../../engine/identity/identity';
import type { McpServerConfig } from '../../engine/policy/model';
import { mcpToolName, toolEntitlementFor } from '../../engine/tools';
import type { CallRecorder } from '../../store/ledger/call-recorder';
import { definitionHash } from '../../store/tool-pins';
import type { ToolPinRegistry } from '../../store/tool-pins';
import type { PolicyContext } from '../context';
import type { Logger } from '../log';
import { APPROVAL_TOKEN_HEADER } from '../../contracts/approvals';
import { errorBody, REFUSED, SERVER_UNAVAILABLE } from './jsonrpc';
import type { JsonRpcId } from './jsonrpc';
import type { OpenToolCall, ToolCallGovernor } from './tool-calls';
import { upstreamTransport } from './upstream';

// One client's session with one MCP server through the gateway. The client speaks Streamable HTTP
// to the SDK's server transport; the server is reached through the SDK's client transport (a
// process of its own for a stdio server, started with the session's first message). Messages pass
// between the two as they are, JSON-RPC ids included, except what the bundle governs: tools/list
// answers keep only the entitled tools whose definitions are pinned, and each tools/call is
// decided and recorded before it goes on. Relaying messages rather than re-serving them through an
// SDK Server keeps every method, capability and notification the server has, known to the SDK or not.

export interface SessionParts {
  readonly recorder: CallRecorder;
  readonly pins: ToolPinRegistry;
  readonly governor: ToolCallGovernor;
  readonly env: NodeJS.ProcessEnv;
  readonly stdioAllowed: boolean;
  readonly clock: () => number;
  readonly log: Logger;
}

/** A request the client sent on, waiting for the server's answer. */
interface Pending {
  readonly method: string;
  /** The admitted tools/call, settled when it is answered. */
  readonly toolCall?: OpenToolCall;
}

export class McpSession {
  readonly transport: StreamableHTTPServerTransport;
  private upstream?: Transport & { setProtocolVersion?: (v: string) => void };
  private starting?: Promise<void>;
  private readonly pending = new Map<JsonRpcId, Pending>();
  /** Progress tokens of requests in flight, so a server's progress goes on its request's stream. */
  private readonly progress = new Map<string | number, JsonRpcId>();
  private readonly aborted = new AbortController();
  /** tools/call requests still being decided (an approval may wait): aborted when their client gives up. */
  private readonly deciding = new Map<JsonRpcId, AbortController>();
  private closed = false;
  lastUsed: number;

  constructor(
    readonly server: McpServerConfig,
    readonly identity: Identity,
    private context: PolicyContext,
    private readonly p: SessionParts,
    hooks: { opened(id: string, session: McpSession): void; closed(session: McpSession): void },
  ) {
    this.lastUsed = p.clock();
    this.transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => hooks.opened(id, this),
      onsessionclosed: () => void this.close('the client ended the session'),
    });
    this.transport.onmessage = (message, extra) => void this.fromClient(message, approvalTokenOf(extra?.requestInfo?.headers)).catch((err: Error) => p.log.error(`mcp ${server.name}: ${err.message}`));
    this.transport.onclose = () => {
      hooks.closed(this);
      void this.close('the session closed');
    };
    this.transport.onerror = () => undefined;
  }

  get id(): string | undefined {
    return this.transport.sessionId;
  }

  /** Whether the session has requests in flight (an idle sweep leaves those alone). */
  get busy(): boolean {
    return this.pending.size > 0;
  }

  /** One HTTP request of this session; the bundle in force now governs what it carries. */
  async handle(req: IncomingMessage, res: ServerResponse, context: PolicyContext, body?: unknown): Promise<void> {
    this.context = context;
    this.lastUsed = this.p.clock();
    // A client that drops the request while its call is still being decided has left it.
    for (const id of toolCallIds(body)) {
      const left = new AbortController();
      this.deciding.set(id, left);
      res.once('close', () => {
        // Answered (or refused by the transport before any call began): nothing is left to abort.
        if (!res.writableFinished) left.abort();
        else if (this.deciding.get(id) === left) this.deciding.delete(id);
      });
    }
    await this.transport.handleRequest(req, res, body);
  }

  /** Ends the session: the server's process (or remote session) too, and every call still open. */
  async close(why: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.aborted.abort();
    this.deciding.clear();
    for (const [id, pending] of this.pending) {
      if (pending.toolCall) void this.p.governor.settle(this.context, pending.toolCall, { status: 499, isError: true, aborted: true });
      void this.transport.send(errorBody(id, SERVER_UNAVAILABLE, `the MCP session ended: ${why}`) as JSONRPCMessage, { relatedRequestId: id }).catch(() => undefined);
    }
    this.pending.clear();
    const upstream = this.upstream;
    if (upstream) {
      // A remote session is ended politely, briefly; a local server's process is stopped.
      const terminate = (upstream as { terminateSession?: () => Promise<void> }).terminateSession;
      if (this.server.transport === 'http' && terminate) await Promise.race([terminate.call(upstream).catch(() => undefined), new Promise((r) => setTimeout(r, 2_000).unref())]);
      await upstream.close().catch(() => undefined);
    }
    await this.transport.close().catch(() => undefined);
  }

  private async fromClient(message: JSONRPCMessage, approvalToken?: string): Promise<void> {
    if (this.closed) return;
    if (isJSONRPCRequest(message)) {
      const token = (message.params as { _meta?: { progressToken?: unknown } } | undefined)?._meta?.progressToken;
      if (typeof token === 'string' || typeof token === 'number') this.progress.set(token, message.id);
      if (message.method === 'tools/call') return this.toolCall(message, approvalToken);
      this.pending.set(message.id, { method: message.method });
    }
    if (isJSONRPCNotification(message) && message.method === 'notifications/cancelled') {
      // A call still being decided never reached the server: its cancellation is the gateway's.
      const id = (message.params as { requestId?: unknown } | undefined)?.requestId;
      const deciding = typeof id === 'string' || typeof id === 'number' ? this.deciding.get(id) : undefined;
      if (deciding) return void deciding.abort();
    }
    await this.toServer(message);
  }

  private async toolCall(message: JSONRPCRequest, approvalToken?: string): Promise<void> {
    const params = (message.params ?? {}) as { name?: unknown; arguments?: unknown };
    const name = params.name;
    if (typeof name !== 'string' || name.length === 0 || name.length > 256) {
      return this.answer(message.id, errorBody(message.id, -32602, 'tools/call needs params.name, the tool to call (a string of at most 256 characters)'));
    }
    if (params.arguments !== undefined && (params.arguments === null || typeof params.arguments !== 'object' || Array.isArray(params.arguments))) {
      return this.answer(message.id, errorBody(message.id, -32602, 'tools/call params.arguments must be an object'));
    }
    const left = this.deciding.get(message.id) ?? new AbortController();
    this.deciding.set(message.id, left);
    let verdict: Awaited<ReturnType<ToolCallGovernor['admit']>>;
    try {
      verdict = await this.p.governor.admit(this.context, this.identity, this.server.name, name, params.arguments, AbortSignal.any([this.aborted.signal, left.signal]), {
        session: this.id ?? null,
        ...(approvalToken !== undefined ? { approvalToken } : {}),
      });
    } finally {
      if (this.deciding.get(message.id) === left) this.deciding.delete(message.id);
    }
    if (!verdict.ok) return this.answer(message.id, errorBody(message.id, REFUSED, verdict.refusal.message, verdict.refusal.data));
    if (this.closed) {
      void this.p.governor.settle(this.context, verdict.call, { status: 499, isError: true, aborted: true });
      return;
    }
    this.pending.set(message.id, { method: 'tools/call', toolCall: verdict.call });
    await this.toServer(message);
  }

  private async toServer(message: JSONRPCMessage): Promise<void> {
    try {
      await this.ensureUpstream();
      await this.upstream!.send(message);
    } catch (err) {
      const why = `MCP server '${this.server.name}' is unavailable: ${(err as Error).message}`;
      this.p.log.warn(why);
      if (isJSONRPCRequest(message)) this.answerPending(message.id, errorBody(message.id, SERVER_UNAVAILABLE, why), 502);
      // A server that could not even start leaves nothing for the session to do.
      if (!this.upstream) await this.close(why);
    }
  }

  private ensureUpstream(): Promise<void> {
    return (this.starting ??= (async () => {
      const t = upstreamTransport(this.server, {
        env: this.p.env,
        stdioAllowed: this.p.stdioAllowed,
        onStderr: (line) => this.p.log.debug(`mcp ${this.server.name}: ${line.slice(0, 500)}`),
      });
      t.onmessage = (message) => this.fromServer(message);
      t.onerror = (err) => this.p.log.debug(`mcp ${this.server.name}: ${err.message}`);
      t.onclose = () => void this.close(`MCP server '${this.server.name}' closed the connection`);
      await t.start();
      this.upstream = t;
    })());
  }

  private fromServer(message: JSONRPCMessage): void {
    if (this.closed) return;
    this.lastUsed = this.p.clock();
    if ((isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) && message.id !== undefined && this.pending.has(message.id)) {
      const id = message.id;
      const pending = this.pending.get(id)!;
      this.pending.delete(id);
      for (const [token, req] of this.progress) if (req === id) this.progress.delete(token);
      if (isJSONRPCResultResponse(message)) {
        const result = message.result as Record<string, unknown>;
        if (pending.method === 'initialize' && typeof result.protocolVersion === 'string') this.upstream?.setProtocolVersion?.(result.protocolVersion);
        if (pending.method === 'tools/list') {
          // Checked against the pins (the team's, in Redis, in team mode) before the client sees it.
          void this.listedTools(result).then(
            (listed) => this.transport.send({ ...message, result: listed }, { relatedRequestId: id }),
            (err: Error) => this.transport.send(errorBody(id, SERVER_UNAVAILABLE, `the tool definitions could not be checked against their pins: ${err.message}`) as JSONRPCMessage, { relatedRequestId: id }),
          ).catch(() => undefined);
          return;
        }
      }
      if (pending.toolCall) {
        const isError = isJSONRPCErrorResponse(message) || (message.result as { isError?: unknown }).isError === true;
        void this.p.governor.settle(this.context, pending.toolCall, { status: isJSONRPCErrorResponse(message) ? 502 : 200, isError, aborted: false });
      }
      void this.transport.send(message, { relatedRequestId: id }).catch(() => undefined);
      return;
    }
    let related: JsonRpcId | undefined;
    if (isJSONRPCNotification(message) && message.method === 'notifications/progress') {
      const token = (message.params as { progressToken?: unknown } | undefined)?.progressToken;
      if (typeof token === 'string' || typeof token === 'number') related = this.progress.get(token);
    }
    void this.transport.send(message, related !== undefined ? { relatedRequestId: related } : undefined).catch(() => undefined);
  }

  /**
   * A tools/list answer as this identity may see it: a tool whose definition changed since it was
   * pinned is hidden until a person approves it, and so is one outside the entitlement.
   */
  private async listedTools(result: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (!Array.isArray(result.tools)) return result;
    const entitlement = toolEntitlementFor(this.context.policy, this.identity);
    const now = this.p.clock();
    const kept: unknown[] = [];
    for (const tool of result.tools as unknown[]) {
      if (tool === null || typeof tool !== 'object' || typeof (tool as { name?: unknown }).name !== 'string') continue;
      const def = tool as { name: string; description?: unknown; inputSchema?: unknown; annotations?: unknown };
      const toolName = mcpToolName(this.server.name, def.name);
      const seen = await this.p.pins.observe(this.server.name, def.name, definitionHash(def), now);
      if (seen.kind === 'pinned') this.recordDefinition('pinned', toolName, seen.sha256, null);
      if (seen.kind === 'changed') {
        if (seen.first) {
          this.p.log.warn(`MCP server '${this.server.name}': the definition of tool '${def.name}' changed since it was pinned; it is hidden and refused until a person approves it (tollgate mcp approve --server ${this.server.name} --tool ${def.name})`);
          this.recordDefinition('changed', toolName, seen.sha256, seen.previous);
        }
        continue;
      }
      if (!entitlement.allowed(toolName)) continue;
      kept.push(tool);
    }
    return { ...result, tools: kept };
  }

  private recordDefinition(event: ToolDefinitionBody['event'], tool: string, sha256: string, previous: string | null): void {
    const policy = this.context.policy;
    this.p.recorder.append({ kind: 'tool-definition', event, server: this.server.name, tool, sha256, previous_sha256: previous, by: null, policy: { name: policy.name, hash: policy.hash } });
  }

  private answer(id: JsonRpcId, body: object): void {
    void this.transport.send(body as JSONRPCMessage, { relatedRequestId: id }).catch(() => undefined);
  }

  /** Answers a request the server will not: settling its tool call, if it was one. */
  private answerPending(id: JsonRpcId, body: object, status: number): void {
    const pending = this.pending.get(id);
    this.pending.delete(id);
    if (pending?.toolCall) void this.p.governor.settle(this.context, pending.toolCall, { status, isError: true, aborted: false });
    this.answer(id, body);
  }
}


/** The ids of the tools/call requests in a POSTed body. */
function toolCallIds(body: unknown): JsonRpcId[] {
  const ids: JsonRpcId[] = [];
  for (const m of Array.isArray(body) ? body : [body]) {
    if (m === null || typeof m !== 'object') continue;
    const { method, id } = m as { method?: unknown; id?: unknown };
    if (method === 'tools/call' && (typeof id === 'string' || typeof id === 'number')) ids.push(id);
  }
  return ids;
}

/** The approval token a request carried, if one (the first, if repeated). */
function approvalTokenOf(headers: Record<string, string | string[] | undefined> | undefined): string | undefined {
  const v = headers?.[APPROVAL_TOKEN_HEADER];
  const token = (Array.isArray(v) ? v[0] : v)?.trim();
  return token ? token : undefined;
}
