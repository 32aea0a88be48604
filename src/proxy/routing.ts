import { ProxyError } from '../pipeline/errors';

export interface Route {
  readonly provider: string;
  /** The path after the provider segment, as sent upstream: `/v1/chat/completions`. */
  readonly path: string;
  /** The query string including its `?`, or ''. */
  readonly query: string;
}

/**
 * A canonical path segment: the characters provider paths use (model ids such as
 * `ft:gpt-4o-mini:acme::abc` or `gemini-2.0-flash:generateContent` included). Everything else
 * (percent-encoding, `;` parameters, backslashes, quotes) could make the upstream or a path
 * normaliser see another path than the one the policy checked, so it is refused, not normalised.
 */
const segment = /^[A-Za-z0-9._~:@-]*$/;
/** The query goes upstream byte for byte; it may not hide a fragment or anything unprintable. */
const query = /^\?[\x21-\x22\x24-\x7e]*$/;

/**
 * Splits `/<provider>/<path>?<query>`. The provider is the first segment; the rest goes upstream
 * byte for byte, and is exactly the path the engine decides on.
 */
export function parseRoute(url: string | undefined): Route {
  if (!url || !url.startsWith('/')) throw new ProxyError('bad-path', 'the request path must start with /');
  if (url.includes('#')) throw new ProxyError('bad-path', 'the request target carries a fragment (#), which no API path has');
  const q = url.indexOf('?');
  const pathPart = q < 0 ? url : url.slice(0, q);
  const search = q < 0 ? '' : url.slice(q);
  if (search && !query.test(search)) throw new ProxyError('bad-path', 'the query string holds characters no API uses');
  const segments = pathPart.split('/').slice(1);
  const [provider, ...rest] = segments;
  if (!provider) throw new ProxyError('unknown-provider', 'no provider in the path: use /<provider>/v1/...');
  for (const [i, s] of segments.entries()) {
    if (s === '.' || s === '..') throw new ProxyError('bad-path', 'the request path contains a dot segment');
    if (!segment.test(s)) throw new ProxyError('bad-path', 'the request path is not in canonical form: only letters, digits and . _ ~ : @ - may appear in a segment (no percent-encoding, ";" parameters or backslashes)');
    // An empty segment is allowed only as the provider's own root (`/openai/`).
    if (s === '' && !(i === 1 && segments.length === 2)) throw new ProxyError('bad-path', 'the request path contains an empty segment (// or a trailing /)');
  }
  return { provider, path: `/${rest.join('/')}`, query: search };
}
