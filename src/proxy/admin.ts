import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminEvent, HealthResponse, StateSnapshot } from '../contracts/admin';
import { ADMIN_PREFIX } from '../contracts/admin';
import { DashboardSite } from './dashboard-site';

export interface AdminSource {
  health(): HealthResponse;
  snapshot(): Promise<StateSnapshot>;
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
    if (req.method !== 'GET') {
      json(res, 405, { error: { message: 'the admin API is read-only' } });
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
      default:
        return json(res, 404, { error: { message: `no admin route ${path}` } });
    }
  }

  private subscribe(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': tollgate events\n\n');
    this.clients.add(res);
    res.once('close', () => this.clients.delete(res));
  }

  publish(event: AdminEvent): void {
    if (this.clients.size === 0) return;
    const payload = event.type === 'policy' ? event.health : event.decision;
    const text = `event: ${event.type}\ndata: ${JSON.stringify(payload)}\n\n`;
    for (const c of this.clients) c.write(text);
  }

  close(): void {
    clearInterval(this.keepAlive);
    for (const c of this.clients) c.end();
    this.clients.clear();
  }
}
