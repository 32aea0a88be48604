import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminEvent, HealthResponse, ResumeRequest, ResumeResponse, StateSnapshot, SuspensionsResponse, ToolApprovalResponse } from '../contracts/admin';
import { ADMIN_PREFIX, TOOL_APPROVAL_PATH } from '../contracts/admin';
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
  approveTool?(server: string, tool: string, by: string): ToolApprovalResponse;
}

/** The largest body the admin API reads: a resume request is a few names. */
const MAX_ADMIN_BODY = 4096;

/** A person or agent name in a resume request: what an identity may be (e-mail, agent name), nothing more. */
const NAME = /^[^\s\p{Cc}]{1,320}$/u;

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
  private readonly clients = new Set<ServerResponse>();
  private readonly token: Buffer;
  private readonly keepAlive: NodeJS.Timeout;

  constructor(
    token: string,
    private readonly source: AdminSource,
    private readonly site: DashboardSite = new DashboardSite(),
  ) {
    this.token = Buffer.from(token);
    this.keepAlive = setInterval(() => {
      for (const c of this.clients) c.write(': keep-alive\n\n');
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
    const path = (req.url ?? '').split('?')[0]!.slice(ADMIN_PREFIX.length);
    if (path === '/identity/resume') return this.resume(req, res);
    if (req.method === 'POST' && path === TOOL_APPROVAL_PATH && this.source.approveTool) return this.approveTool(req, res, this.source.approveTool.bind(this.source));
    if (req.method !== 'GET') {
      json(res, 405, { error: { message: `the admin API takes GET, and POST only at ${ADMIN_PREFIX}${TOOL_APPROVAL_PATH}` } });
      return;
    }
    switch (path) {
      case '/health':
        return json(res, 200, this.source.health());
      case '/state':
        return json(res, 200, await this.source.snapshot());
      case '/decisions':
        return json(res, 200, (await this.source.snapshot()).recent);
      case '/events':
        return this.subscribe(res);
      case '/suspensions':
        return json(res, 200, (await this.source.suspensions?.()) ?? { suspensions: [], baselines_at: null });
      default:
        return json(res, 404, { error: { message: `no admin route ${path}` } });
    }
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
    const answer = await this.source.resume(target);
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
    const result = approve(body.server, body.tool, body.by);
    return json(res, result.ok ? 200 : 404, result);
  }

  private subscribe(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': tollgate events\n\n');
    this.clients.add(res);
    res.once('close', () => this.clients.delete(res));
  }

  publish(event: AdminEvent): void {
    if (this.clients.size === 0) return;
    const text = `event: ${event.type}\ndata: ${JSON.stringify(adminEventPayload(event))}\n\n`;
    for (const c of this.clients) c.write(text);
  }

  close(): void {
    clearInterval(this.keepAlive);
    for (const c of this.clients) c.end();
    this.clients.clear();
  }
}

/** What an event carries on the wire: its payload alone, under the event's name. */
export function adminEventPayload(event: AdminEvent): unknown {
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
  }
}
