import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Identity } from '../../engine/identity/identity';
import { IdentityError, withAgent } from '../../engine/identity/identity';
import { ProxyError } from '../../pipeline/errors';
import type { CallRecorder } from '../../store/ledger/call-recorder';
import type { ToolPinRegistry } from '../../store/tool-pins';
import { MAX_JSON_DEPTH, nestsDeeperThan, readBody } from '../body';
import type { PolicyContext } from '../context';
import type { Logger } from '../log';
import type { ApprovalGate } from './approval-gate';
import { answerError, checkMessages, INVALID_REQUEST, isInitialize, PARSE_ERROR, SESSION_NOT_FOUND, UNAUTHORIZED } from './jsonrpc';
import { McpSession } from './session';
import { ToolCallGovernor } from './tool-calls';
import type { ToolCallParts } from './tool-calls';

// The MCP gateway: every MCP server the bundle names, at /mcp/<name> on the proxy's own port, with
// the Streamable HTTP transport (POST, GET for the server's stream, DELETE to end a session). The
// caller is the same verified identity as for model calls, on every request of a session.

/** `/mcp/<name>` exactly: the name as the bundle spells one, nothing encoded, no further segment. */
const MCP_PATH = /^\/mcp\/([a-z0-9][a-z0-9_-]{0,63})\/?$/;
/** Sessions one server may have open at once (a stdio server runs a process per session). */
const MAX_SESSIONS_PER_SERVER = 64;
/** A session nobody used for this long is ended, its process stopped. */
const IDLE_MS = 30 * 60_000;

export interface GatewayParts {
  readonly recorder: CallRecorder;
  readonly ledgerHealth: () => { readonly ok: true } | { readonly ok: false; readonly reason: string };
  readonly pins: ToolPinRegistry;
  readonly approvals: ApprovalGate;
  readonly divergence?: ToolCallParts['divergence'];
  readonly env: NodeJS.ProcessEnv;
  /** Whether the bundle's stdio servers may be started by this proxy. */
  readonly stdioAllowed: boolean;
  readonly shadow: boolean;
  readonly maxBodyBytes: number;
  readonly bodyTimeoutMs: number;
  readonly clock: () => number;
  readonly log: Logger;
}

export class McpGateway {
  private readonly sessions = new Map<string, McpSession>();
  /** Sessions created and not yet closed, initialized or not, per server. */
  private readonly open = new Set<McpSession>();
  private readonly governor: ToolCallGovernor;
  private readonly sweep: NodeJS.Timeout;
  private closing = false;

  constructor(private readonly p: GatewayParts) {
    this.governor = new ToolCallGovernor({ recorder: p.recorder, ledgerHealth: p.ledgerHealth, pins: p.pins, approvals: p.approvals, divergence: p.divergence, shadow: p.shadow, clock: p.clock, log: p.log });
    this.sweep = setInterval(() => this.closeIdle(), 60_000);
    this.sweep.unref();
  }

  static handles(url: string | undefined): boolean {
    return url === '/mcp' || (url?.startsWith('/mcp/') ?? false) || (url?.startsWith('/mcp?') ?? false);
  }

  async handle(req: IncomingMessage, res: ServerResponse, ctx: PolicyContext, countUnverified: (status: number, reason: string) => Promise<string>): Promise<void> {
    const path = (req.url ?? '').split('?')[0]!;
    const m = MCP_PATH.exec(path);
    const servers = ctx.policy.mcp?.servers;
    const server = m ? servers?.get(m[1]!) : undefined;
    if (!server) {
      const names = [...(servers?.keys() ?? [])];
      const id = await countUnverified(404, 'unknown-mcp-server').catch(() => undefined);
      return answerError(res, 404, INVALID_REQUEST, `no MCP server at ${path.slice(0, 100)}: the bundle serves ${names.length ? names.map((n) => `/mcp/${n}`).join(', ') : 'none'}`, id ? { 'x-tollgate-decision': id } : {});
    }
    if (req.method !== 'POST' && req.method !== 'GET' && req.method !== 'DELETE') {
      return answerError(res, 405, INVALID_REQUEST, `/mcp/${server.name} takes POST, GET or DELETE, not ${req.method}`, { allow: 'POST, GET, DELETE' });
    }

    let identity: Identity;
    try {
      identity = withAgent(await ctx.verifier.verify(bearerOf(req), this.p.clock()), header(req, 'x-tollgate-agent'));
    } catch (err) {
      if (!IdentityError.is(err)) throw err;
      const status = err.reason === 'invalid-agent' ? 400 : 401;
      const id = await countUnverified(status, err.reason).catch(() => undefined);
      return answerError(res, status, UNAUTHORIZED, `Tollgate refused this request: ${err.message} (send a Tollgate session token as Authorization: Bearer)`, { 'x-tollgate-rule': 'identity', ...(id ? { 'x-tollgate-decision': id } : {}) });
    }

    let body: unknown;
    if (req.method === 'POST') {
      try {
        const raw = await readBody(req, this.p.maxBodyBytes, this.p.bodyTimeoutMs);
        if (nestsDeeperThan(raw, MAX_JSON_DEPTH)) return answerError(res, 400, INVALID_REQUEST, `the request body nests deeper than ${MAX_JSON_DEPTH} levels`);
        body = JSON.parse(raw.toString('utf8'));
      } catch (err) {
        if (ProxyError.is(err)) return answerError(res, err.status, INVALID_REQUEST, err.message);
        return answerError(res, 400, PARSE_ERROR, 'Parse error: the request body is not JSON');
      }
      const problem = checkMessages(body);
      if (problem) return answerError(res, 400, INVALID_REQUEST, `Invalid Request: ${problem}`);
    }

    const sessionId = header(req, 'mcp-session-id');
    if (sessionId !== undefined) {
      const session = this.sessions.get(sessionId);
      // Another person's session is as unknown as one that never was.
      if (!session || session.server.name !== server.name || session.identity.user !== identity.user || session.identity.agent !== identity.agent) {
        return answerError(res, 404, SESSION_NOT_FOUND, 'Session not found: start a new one with initialize');
      }
      return session.handle(req, res, ctx, body);
    }
    if (req.method !== 'POST' || !isInitialize(body)) {
      return answerError(res, 400, INVALID_REQUEST, 'Bad Request: send the Mcp-Session-Id header the initialize response gave, or initialize a new session');
    }
    if (this.closing) return answerError(res, 503, SESSION_NOT_FOUND, 'tollgate is shutting down', { 'retry-after': '1' });
    const count = [...this.open].filter((s) => s.server.name === server.name).length;
    if (count >= MAX_SESSIONS_PER_SERVER) {
      return answerError(res, 503, INVALID_REQUEST, `MCP server '${server.name}' has ${count} sessions open, the most the gateway keeps; end one (DELETE) or retry later`, { 'retry-after': '5' });
    }
    const session = new McpSession(server, identity, ctx, { recorder: this.p.recorder, pins: this.p.pins, governor: this.governor, env: this.p.env, stdioAllowed: this.p.stdioAllowed, clock: this.p.clock, log: this.p.log }, {
      opened: (id, s) => void this.sessions.set(id, s),
      closed: (s) => this.forget(s),
    });
    this.open.add(session);
    await session.handle(req, res, ctx, body);
    // An initialize the transport refused opens nothing.
    if (session.id === undefined) {
      this.forget(session);
      await session.close('not initialized');
    }
  }

  /** Ends every session, stopping the servers' processes. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweep);
    await Promise.allSettled([...this.open].map((s) => s.close('tollgate is shutting down')));
    this.open.clear();
    this.sessions.clear();
  }

  /** How many sessions are open (for the tests and the views). */
  get sessionCount(): number {
    return this.open.size;
  }

  private forget(s: McpSession): void {
    this.open.delete(s);
    if (s.id !== undefined && this.sessions.get(s.id) === s) {
      this.sessions.delete(s.id);
      this.p.approvals.sessionEnded?.(s.id);
    }
  }

  private closeIdle(): void {
    const now = this.p.clock();
    for (const s of this.open) {
      if (!s.busy && now - s.lastUsed > IDLE_MS) {
        this.forget(s);
        void s.close('idle');
      }
    }
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The session token, where MCP clients send it (Authorization: Bearer), or where SDKs send a key. */
function bearerOf(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header(req, 'authorization') ?? '');
  return m ? m[1] : header(req, 'x-api-key');
}
