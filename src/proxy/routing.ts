import { ProxyError } from './errors';

export interface Route {
  readonly provider: string;
  /** The path after the provider segment, as sent upstream: `/v1/chat/completions`. */
  readonly path: string;
  /** The query string including its `?`, or ''. */
  readonly query: string;
}

// Anything that could make the upstream or a path normaliser see another path than the one the
// policy checked: dot segments, encoded separators and dots, backslashes, empty segments.
const forbidden = /%(?:2e|2f|5c|00)|\\|\/\/|\0/i;

/**
 * Splits `/<provider>/<path>?<query>`. The provider is the first segment; the rest goes upstream
 * byte for byte, so a path is refused rather than normalised when it could mean two things.
 */
export function parseRoute(url: string | undefined): Route {
  if (!url || !url.startsWith('/')) throw new ProxyError('bad-path', 'the request path must start with /');
  const q = url.indexOf('?');
  const pathPart = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q);
  if (forbidden.test(pathPart)) throw new ProxyError('bad-path', 'the request path contains an encoded separator, a backslash or an empty segment');
  const segments = pathPart.split('/').slice(1);
  if (segments.some((s) => s === '.' || s === '..')) throw new ProxyError('bad-path', 'the request path contains a dot segment');
  const [provider, ...rest] = segments;
  if (!provider) throw new ProxyError('unknown-provider', 'no provider in the path: use /<provider>/v1/...');
  const path = `/${rest.join('/')}`;
  return { provider, path: path === '/' ? '/' : path.replace(/\/$/, ''), query };
}
