import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import * as path from 'node:path';
import { ADMIN_PREFIX } from '../contracts/admin';
import { dashboardPageHtml } from '../views/dashboard-page';

/** The page's address; `${ADMIN_PREFIX}` alone redirects here so relative asset URLs resolve. */
export const DASHBOARD_PAGE = `${ADMIN_PREFIX}/`;
const ASSETS = `${ADMIN_PREFIX}/assets/`;

/** The only files served, by name: a lookup, never a path joined from the request, so no traversal. */
const ASSET_TYPES: Readonly<Record<string, string>> = {
  'dashboard-browser.js': 'text/javascript; charset=utf-8',
  'dashboard-browser.css': 'text/css; charset=utf-8',
};

/** The files the site reads from its media dir: what every installation must carry (the .vsix too). */
export const DASHBOARD_ASSET_FILES: readonly string[] = Object.freeze(Object.keys(ASSET_TYPES));

/** Headers every answer of the site carries: nothing cached, sniffed, framed or referred. */
const COMMON: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** The page's policy: its one nonced script, its own stylesheet, and requests to its own origin only. */
export function dashboardCsp(nonce: string): string {
  return [
    `default-src 'none'`,
    `script-src 'nonce-${nonce}'`,
    `style-src 'self'`,
    `img-src 'self' data:`,
    `connect-src 'self'`,
    `frame-ancestors 'none'`,
    `base-uri 'none'`,
    `form-action 'none'`,
  ].join('; ');
}

/** Where the bundles are: dist/media beside the built CLI, or the repository's dist/ when run from source. */
export function defaultMediaDir(): string {
  const beside = path.join(__dirname, 'media');
  return fs.existsSync(path.join(beside, 'dashboard-browser.js')) ? beside : path.join(__dirname, '..', '..', 'dist', 'media');
}

/**
 * The dashboard in a browser: the page and its two bundles, served by the proxy under the admin
 * prefix. They hold no data, so they need no token; the page's script asks for the admin token
 * and reads the admin API with it. The assets are read once, on first use.
 */
export class DashboardSite {
  private assets: Map<string, Buffer> | undefined;

  constructor(private readonly mediaDir: string = defaultMediaDir()) {}

  /** Whether `url` is one of the site's addresses (the page, its redirect, or under assets/). */
  static handles(url: string | undefined): boolean {
    const p = (url ?? '').split('?')[0]!;
    return p === ADMIN_PREFIX || p === DASHBOARD_PAGE || p.startsWith(ASSETS);
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const p = (req.url ?? '').split('?')[0]!;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(req, res, 405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }, 'the dashboard is read-only\n');
    }
    // Relative, so it holds behind a proxy that mounts the gateway under a path; dropping the
    // query on the way: whatever someone put there is not carried on.
    if (p === ADMIN_PREFIX) return send(req, res, 308, { location: `${ADMIN_PREFIX.slice(1)}/`, 'content-type': 'text/plain; charset=utf-8' }, '');
    if (p === DASHBOARD_PAGE) return this.page(req, res);
    return this.asset(req, res, p.slice(ASSETS.length));
  }

  private page(req: IncomingMessage, res: ServerResponse): void {
    if (!this.loaded()) {
      return send(req, res, 503, { 'content-type': 'text/plain; charset=utf-8' }, 'the dashboard is not built into this installation (dist/media is missing)\n');
    }
    const nonce = randomBytes(16).toString('base64');
    const html = dashboardPageHtml({ nonce, scriptUrl: 'assets/dashboard-browser.js', styleUrl: 'assets/dashboard-browser.css' });
    send(req, res, 200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': dashboardCsp(nonce) }, html);
  }

  private asset(req: IncomingMessage, res: ServerResponse, name: string): void {
    const type = Object.hasOwn(ASSET_TYPES, name) ? ASSET_TYPES[name] : undefined;
    const body = type === undefined ? undefined : this.loaded()?.get(name);
    if (type === undefined || body === undefined) return send(req, res, 404, { 'content-type': 'text/plain; charset=utf-8' }, 'no such dashboard asset\n');
    send(req, res, 200, { 'content-type': type }, body);
  }

  /** The bundles, read on first use; undefined while the build is missing (then tried again next time). */
  private loaded(): Map<string, Buffer> | undefined {
    if (this.assets) return this.assets;
    try {
      const assets = new Map<string, Buffer>();
      for (const name of DASHBOARD_ASSET_FILES) assets.set(name, fs.readFileSync(path.join(this.mediaDir, name)));
      this.assets = assets;
    } catch {
      return undefined;
    }
    return this.assets;
  }
}

function send(req: IncomingMessage, res: ServerResponse, status: number, headers: OutgoingHttpHeaders, body: string | Buffer): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { ...COMMON, ...headers, 'content-length': bytes.length });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}
