import type { KeyPlace } from './adapter';

// Reading the key a client sent where its style puts it, and keeping it from the upstream.

/** Request headers as Node gives them: lower-case names, a repeated header as a list. */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

function first(v: string | readonly string[] | undefined): string | undefined {
  return typeof v === 'string' ? v : v?.[0];
}

/** The query's parameters as written: `?a=1&b=2` -> [['a', 'a=1'], ['b', 'b=2']]. */
function parameters(query: string): { name: string; text: string }[] {
  if (!query.startsWith('?') || query.length === 1) return [];
  return query.slice(1).split('&').map((text) => {
    const eq = text.indexOf('=');
    const raw = eq < 0 ? text : text.slice(0, eq);
    let name = raw;
    try {
      name = decodeURIComponent(raw.replace(/\+/g, ' '));
    } catch {
      // A name that does not decode is kept as written: it names no key place.
    }
    return { name, text };
  });
}

function queryValue(query: string, name: string): string | undefined {
  const p = parameters(query).find((x) => x.name === name);
  if (!p) return undefined;
  const eq = p.text.indexOf('=');
  const raw = eq < 0 ? '' : p.text.slice(eq + 1);
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}

/** `Scheme <key>` patterns by scheme: a provider has one or two, and every call reads one. */
const schemePatterns = new Map<string, RegExp>();

function schemePattern(scheme: string): RegExp {
  let pattern = schemePatterns.get(scheme);
  if (!pattern) {
    pattern = new RegExp(`^${scheme}\\s+(\\S+)\\s*$`, 'i');
    schemePatterns.set(scheme, pattern);
  }
  return pattern;
}

/** The key in the first place the client filled, or undefined when it sent none. */
export function clientKeyOf(places: readonly KeyPlace[], headers: RequestHeaders, query: string): string | undefined {
  for (const place of places) {
    if ('query' in place) {
      const v = queryValue(query, place.query);
      if (v !== undefined) return v;
      continue;
    }
    const v = first(headers[place.header]);
    if (v === undefined) continue;
    if (place.scheme === undefined) return v.trim();
    const m = schemePattern(place.scheme).exec(v);
    if (m) return m[1];
  }
  return undefined;
}

/**
 * The query string to send upstream: the client's, byte for byte, less any parameter a client key
 * is read from (the client's credential never reaches the provider).
 */
export function upstreamQuery(places: readonly KeyPlace[], query: string): string {
  // Most calls have no query: nothing to read a key from or keep.
  if (query.length === 0) return query;
  const names = new Set(places.flatMap((p) => ('query' in p ? [p.query] : [])));
  if (names.size === 0) return query;
  const kept = parameters(query).filter((p) => !names.has(p.name));
  return kept.length === 0 ? '' : `?${kept.map((p) => p.text).join('&')}`;
}
