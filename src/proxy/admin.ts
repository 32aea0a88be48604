import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminEvent, HealthResponse, ResumeRequest, ResumeResponse, StateSnapshot, SuspensionsResponse, ToolApprovalResponse } from '../contracts/admin';
import { ADMIN_PREFIX, TOOL_APPROVAL_PATH } from '../contracts/admin';
import type { ApprovalAnswer, ApprovalAnswerRequest, ApprovalAnswerResponse, ApprovalEvent, PendingApproval } from '../contracts/approvals';
import { APPROVALS_PATH } from '../contracts/approvals';
import { ProxyError } from '../pipeline/errors';
import { readBody } from './body';
import { DashboardSite } from './dashboard-site';

export interface AdminSource {
  health(): HealthResponse;
  snapshot(): Promise<StateSnapshot>;
  /** The suspended identities (guards.divergence). */
  suspensions?(): Promise<SuspensionsResponse>;
  /** Lifts the suspensions a request names. */
  resume?(target: ResumeRequest): Promise<ResumeResponse>;
  /** A person approves a changed MCP tool definition. */
  approveTool?(server: string, tool: string, by: string): ToolApprovalResponse | Promise<ToolApprovalResponse>;
  /** The MCP calls waiting for a person (tools.approval), and a person's answer to one. */
  approvals?: {
    pending(): PendingApproval[];
    answer(id: string, answer: ApprovalAnswer, by: string): ApprovalAnswerResponse;
  };
  /** A reader of the event stream that asks a person came or went (for the log). */
  approver?(name: string, event: 'joined' | 'left'): void;
}

/** The largest body the admin API reads: a resume request is a few names. */
const MAX_ADMIN_BODY = 4096;

/** A person or agent name in a resume request: what an identity may be (e-mail, agent name), nothing more. */
const NAME = /^[^\s\p{Cc}]{1,320}$/u;
/** Who listens as an approver, or who answers: a name a person reads, without control or format characters. */
const APPROVER = /^[^\p{C}]{1,128}$/u;
/** A pending approval's id, as the broker makes them. */
const APPROVAL_ID = /^[A-Za-z0-9_-]{1,64}$/;
const ANSWERS: readonly ApprovalAnswer[] = ['allow-once', 'allow-session', 'deny'];

/** An answer as sent, checked field by field; a string saying what is wrong otherwise. */
function answerRequestOf(body: unknown): ApprovalAnswerRequest | string {
  const shape = 'send a JSON object: { "answer": "allow-once" | "allow-session" | "deny", "by": WHO }';
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return shape;
  const { answer, by, ...rest } = body as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) return `unknown field '${extra[0]!.slice(0, 40)}': only answer and by`;
  if (typeof answer !== 'string' || !(ANSWERS as readonly string[]).includes(answer)) return `answer must be one of ${ANSWERS.join(', ')}`;
  if (typeof by !== 'string' || !APPROVER.test(by.trim())) return 'by must name who answers: 1 to 128 characters, no control characters';
  return { answer: answer as ApprovalAnswer, by: by.trim() };
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_ADMIN_BODY) {
        reject(new Error(`the body is over ${MAX_ADMIN_BODY} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new Error('the body is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

/** A resume request as sent, checked field by field; a string saying what is wrong otherwise. */
function resumeRequestOf(body: unknown): ResumeRequest | string {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'send a JSON object: { "user": U } or { "agent": A, "user": U }';
  const { user, agent, ...rest } = body as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) return `unknown field '${extra[0]!.slice(0, 40)}': only user and agent`;
  if (user !== undefined && (typeof user !== 'string' || !NAME.test(user))) return 'user must be a person\'s name (an e-mail)';
  if (agent !== undefined && (typeof agent !== 'string' || !/^[A-Za-z0-9._:/-]{1,64}$/.test(agent))) return 'agent must be 1 to 64 letters, digits, ".", "_", ":", "/" or "-"';
  if (user === undefined && agent === undefined) return 'name the user, or the agent (and its user), whose suspension to lift';
  return { ...(user !== undefined ? { user: user.trim().toLowerCase() } : {}), ...(agent !== undefined ? { agent } : {}) };
}

function sseEvent(type: string, payload: unknown): string {
  return `event: ${type}\ndata: ${JSON.stringify(payload)}\n\n`;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/**
 * The admin/state API for the views: authenticated with the admin token, answered on the proxy's
 * own port under a prefix no provider uses. The event stream pushes each decision as it becomes durable.
 * The browser dashboard's page and bundles share the prefix and need no token: they hold no data.
 */
export class AdminApi {
  /** Readers of the event stream, and for each the approver it said it asks, if any. */
  private readonly clients = new Map<ServerResponse, string | null>();
  private readonly token: Buffer;
  private readonly keepAlive: NodeJS.Timeout;

  constructor(
    token: string,
    private readonly source: AdminSource,
    private readonly site: DashboardSite = new DashboardSite(),
  ) {
    this.token = Buffer.from(token);
    this.keepAlive = setInterval(() => {
      for (const c of this.clients.keys()) c.write(': keep-alive\n\n');
    }, 15_000);
    this.keepAlive.unref();
  }

  static handles(url: string | undefined): boolean {
    return url === ADMIN_PREFIX || (url?.startsWith(`${ADMIN_PREFIX}/`) ?? false) || (url?.startsWith(`${ADMIN_PREFIX}?`) ?? false);
  }

  private authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(header);
    if (!m) return false;
    const given = Buffer.from(m[1]!.trim());
    return given.length === this.token.length && timingSafeEqual(given, this.token);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (DashboardSite.handles(req.url)) return this.site.handle(req, res);
    if (!this.authorized(req)) {
      json(res, 401, { error: { message: 'the admin API needs Authorization: Bearer <admin token from the data dir>' } });
      return;
    }
    const [pathname, query] = (req.url ?? '').split('?', 2) as [string, string | undefined];
    const path = pathname.slice(ADMIN_PREFIX.length);
    if (path === '/identity/resume') return this.resume(req, res);
    if (path === APPROVALS_PATH || path.startsWith(`${APPROVALS_PATH}/`)) return this.approvals(req, res, path.slice(APPROVALS_PATH.length + 1));
    if (req.method === 'POST' && path === TOOL_APPROVAL_PATH && this.source.approveTool) return this.approveTool(req, res, this.source.approveTool.bind(this.source));
    if (req.method !== 'GET') {
      json(res, 405, { error: { message: `the admin API takes GET, and POST only at ${ADMIN_PREFIX}${TOOL_APPROVAL_PATH}, ${ADMIN_PREFIX}${APPROVALS_PATH}/<id> and ${ADMIN_PREFIX}/identity/resume` } });
      return;
    }
    switch (path) {
      case '/health':
        return json(res, 200, this.source.health());
      case '/state':
        return json(res, 200, await this.state());
      case '/decisions':
        return json(res, 200, (await this.source.snapshot()).recent);
      case '/events':
        return this.subscribe(res, new URLSearchParams(query ?? ''));
      case '/suspensions':
        try {
          return json(res, 200, (await this.source.suspensions?.()) ?? { suspensions: [], baselines_at: null });
        } catch (err) {
          // The team's store out of reach: a list that may be stale is not shown as the list.
          return json(res, 503, { error: { message: `the suspensions cannot be read: ${(err as Error).message}` } });
        }
      default:
        return json(res, 404, { error: { message: `no admin route ${path}` } });
    }
  }

  /** The snapshot with the calls waiting for approval, where something holds calls for a person. */
  private async state(): Promise<StateSnapshot> {
    const snapshot = await this.source.snapshot();
    const broker = this.source.approvals;
    return broker ? { ...snapshot, approvals: { pending: broker.pending(), approvers: this.approverCount() } } : snapshot;
  }

  /** POST /_tollgate/identity/resume: the one admin action that changes state, for the team dashboard. */
  private async resume(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return json(res, 405, { error: { message: 'resume with POST and a JSON body: { "user": U } or { "agent": A, "user": U }' } });
    }
    if (!this.source.resume) return json(res, 404, { error: { message: 'this proxy keeps no suspensions' } });
    let body: unknown;
    try {
      body = await readJson(req);
    } catch (err) {
      return json(res, 400, { error: { message: (err as Error).message } });
    }
    const target = resumeRequestOf(body);
    if (typeof target === 'string') return json(res, 400, { error: { message: target } });
    let answer: ResumeResponse;
    try {
      answer = await this.source.resume(target);
    } catch (err) {
      // Lifted on every proxy or on none: the team's store must take it.
      return json(res, 503, { error: { message: `nothing was resumed: ${(err as Error).message}` } });
    }
    if (answer.resumed.length === 0) return json(res, 404, { error: { message: 'no suspension in force matches', resumed: [] } });
    return json(res, 200, answer);
  }

  private async approveTool(req: IncomingMessage, res: ServerResponse, approve: NonNullable<AdminSource['approveTool']>): Promise<void> {
    let body: { server?: unknown; tool?: unknown; by?: unknown };
    try {
      body = JSON.parse((await readBody(req, 16_384, 10_000)).toString('utf8')) as typeof body;
    } catch {
      return json(res, 400, { error: { message: 'the body must be JSON: { "server": NAME, "tool": NAME, "by": WHO }' } });
    }
    const text = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 256;
    if (!body || !text(body.server) || !text(body.tool) || !text(body.by)) {
      return json(res, 400, { error: { message: 'server, tool and by must each be a string of 1 to 256 characters' } });
    }
    let result: ToolApprovalResponse;
    try {
      result = await approve(body.server, body.tool, body.by);
    } catch (err) {
      // The team's pins out of reach: approved on every proxy or on none.
      return json(res, 503, { error: { message: `nothing was approved: ${(err as Error).message}` } });
    }
    return json(res, result.ok ? 200 : 404, result);
  }

  /** GET /_tollgate/approvals lists the calls waiting; POST /_tollgate/approvals/<id> answers one. */
  private async approvals(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const broker = this.source.approvals;
    if (id === '') {
      if (req.method !== 'GET') {
        res.setHeader('allow', 'GET');
        return json(res, 405, { error: { message: `${ADMIN_PREFIX}${APPROVALS_PATH} takes GET; answer a call with POST ${ADMIN_PREFIX}${APPROVALS_PATH}/<id>` } });
      }
      return json(res, 200, { pending: broker?.pending() ?? [], approvers: this.approverCount() });
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return json(res, 405, { error: { message: 'answer a pending call with POST and a JSON body: { "answer": "allow-once" | "allow-session" | "deny", "by": WHO }' } });
    }
    if (!APPROVAL_ID.test(id)) return json(res, 400, { error: { message: 'not an approval id (letters, digits, "_" and "-", as GET /_tollgate/approvals lists them)' } });
    let body: unknown;
    try {
      body = JSON.parse((await readBody(req, MAX_ADMIN_BODY, 10_000)).toString('utf8'));
    } catch (err) {
      if (ProxyError.is(err)) return json(res, err.status, { error: { message: err.message } });
      return json(res, 400, { error: { message: 'the body is not JSON' } });
    }
    const request = answerRequestOf(body);
    if (typeof request === 'string') return json(res, 400, { error: { message: request } });
    const answer: ApprovalAnswerResponse = broker
      ? broker.answer(id, request.answer, request.by)
      : { ok: false, reason: 'unknown', message: 'this proxy holds no calls for approval' };
    return json(res, answer.ok ? 200 : answer.reason === 'unknown' ? 404 : 409, answer);
  }

  private subscribe(res: ServerResponse, query: URLSearchParams): void {
    const approvers = query.getAll('approver');
    if (approvers.length > 1 || (approvers.length === 1 && !APPROVER.test(approvers[0]!))) {
      return json(res, 400, { error: { message: 'approver names who asks a person: once, 1 to 128 characters, no control characters' } });
    }
    const approver = approvers[0] ?? null;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': tollgate events\n\n');
    this.clients.set(res, approver);
    res.once('close', () => {
      this.clients.delete(res);
      if (approver !== null) this.source.approver?.(approver, 'left');
    });
    if (approver !== null) {
      this.source.approver?.(approver, 'joined');
      // An approver that joins late is told of the calls already waiting.
      for (const pending of this.source.approvals?.pending() ?? []) res.write(sseEvent('approval', pending));
    }
  }

  /** How many readers of the event stream ask a person. */
  approverCount(): number {
    let n = 0;
    for (const approver of this.clients.values()) if (approver !== null) n++;
    return n;
  }

  publish(event: AdminEvent | ApprovalEvent): void {
    if (this.clients.size === 0) return;
    const text = sseEvent(event.type, adminEventPayload(event));
    for (const c of this.clients.keys()) c.write(text);
  }

  close(): void {
    clearInterval(this.keepAlive);
    for (const c of this.clients.keys()) c.end();
    this.clients.clear();
  }
}

/** What an event carries on the wire: its payload alone, under the event's name. */
export function adminEventPayload(event: AdminEvent | ApprovalEvent): unknown {
  switch (event.type) {
    case 'decision':
    case 'settle':
      return event.decision;
    case 'policy':
      return event.health;
    case 'suspension':
    case 'resumption':
      return event.suspension;
    case 'revocation':
      return event.revocation;
    case 'approval':
      return event.pending;
    case 'approval-resolved':
      return event.resolution;
  }
}
