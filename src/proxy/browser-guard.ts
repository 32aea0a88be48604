import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { hostname } from 'node:os';

/**
 * Keeps web pages from driving the proxy. A page can make the browser send requests to
 * 127.0.0.1 (a form post, a `text/plain` fetch) or rebind its own name to it (DNS rebinding);
 * both would spend the person's keys. So a request must name the proxy itself in `Host`, and a
 * request a browser sends from a page (it carries `Origin`) is refused unless the bundle lists
 * that origin.
 */
export class BrowserGuard {
  private readonly hosts: ReadonlySet<string>;
  private readonly anyAddress: boolean;

  constructor(
    boundHost: string,
    private readonly allowedOrigins: readonly string[],
    allowedHosts: readonly string[],
  ) {
    const bound = boundHost.toLowerCase();
    // Bound to every interface, the proxy is reached by any of the machine's addresses or names.
    this.anyAddress = bound === '0.0.0.0' || bound === '::' || bound === '';
    this.hosts = new Set(['localhost', bound, ...allowedHosts.map((h) => h.toLowerCase()), ...(this.anyAddress ? [hostname().toLowerCase()] : [])]);
  }

  /**
   * Why the request is refused, or undefined when it may go on. `ownPage` says the path is one the
   * proxy's own dashboard calls (the admin API): a page of the proxy's own origin may post there,
   * as the dashboard's actions do; every other page, and any page calling a model, is refused.
   */
  refusal(req: IncomingMessage, ownPage = false): string | undefined {
    const origin = req.headers.origin;
    const host = hostOf(req.headers.host);
    if (origin !== undefined && !this.allowedOrigins.includes(origin) && !(ownPage && sameOrigin(origin, req.headers.host))) {
      return `requests from web pages are refused (Origin: ${origin.slice(0, 200)}); a bundle lists the origins it trusts in network.allowed_origins`;
    }
    // Checked for the dashboard too: a rebound name is the same origin as its page, and not this proxy.
    if (host === undefined) return 'the request has no valid Host header';
    if (this.hosts.has(host)) return undefined;
    if (this.anyAddress && isIP(host) !== 0) return undefined;
    return `Host '${host.slice(0, 200)}' is not this proxy's address; a name it is reached by goes in the bundle's network.allowed_hosts`;
  }

  /** CORS headers for an allowed origin, so a page the bundle trusts can read the answers. */
  corsHeaders(req: IncomingMessage): OutgoingHttpHeaders {
    const origin = req.headers.origin;
    if (origin === undefined || !this.allowedOrigins.includes(origin)) return {};
    return { 'access-control-allow-origin': origin, vary: 'Origin', 'access-control-expose-headers': EXPOSED.join(', ') };
  }

  /** The answer to a browser's preflight from an allowed origin. */
  preflightHeaders(req: IncomingMessage): OutgoingHttpHeaders {
    return {
      ...this.corsHeaders(req),
      'access-control-allow-methods': 'GET, HEAD, POST',
      'access-control-allow-headers': String(req.headers['access-control-request-headers'] ?? 'authorization, content-type'),
      'access-control-max-age': '600',
    };
  }
}

const EXPOSED = ['x-tollgate-decision', 'x-tollgate-rule', 'retry-after', 'x-tollgate-ratelimit-remaining-requests', 'x-tollgate-ratelimit-remaining-tokens', 'x-tollgate-ratelimit-remaining-usd'];

/**
 * Whether a page's Origin is the proxy's own address as this request names it (same host and
 * port). https counts too: a gateway behind a TLS terminator serves its dashboard as https while
 * its own port speaks http, and no other page can be served from the address it listens on.
 */
function sameOrigin(origin: string, hostHeader: string | undefined): boolean {
  if (!hostHeader) return false;
  try {
    const o = new URL(origin);
    return (o.protocol === 'http:' || o.protocol === 'https:') && o.host === new URL(`http://${hostHeader.trim()}`).host;
  } catch {
    return false;
  }
}

/** The host name of a Host header, lower-cased, without port or IPv6 brackets. */
function hostOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+))(?::(\d{1,5}))?$/.exec(header.trim());
  if (!m) return undefined;
  return (m[1] ?? m[2]!).toLowerCase().replace(/\.$/, '');
}
