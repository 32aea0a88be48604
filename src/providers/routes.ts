import type { CallKind } from '../contracts/call';

/** One route a provider style serves: its path, the methods it takes and what a call to it does. */
export interface RouteSpec {
  /**
   * Literal segments, with `{id}` standing for any one segment (`/v1/models/{id}`), `{model}` for
   * a model name without a colon, and `{model}:method` for such a name, a colon and exactly that
   * method (`/v1beta/models/{model}:generateContent`, as Google names its calls).
   */
  readonly pattern: string;
  /** POST for calls that carry a body; GET routes answer HEAD as well. */
  readonly methods: readonly ('GET' | 'POST')[];
  /** `passthrough`: no model is invoked (listing models, a client's probe of its base URL). */
  readonly kind: CallKind;
}

export type RouteMatch =
  | { readonly ok: true; readonly spec: RouteSpec }
  | { readonly ok: false; readonly reason: 'unknown-route' }
  | { readonly ok: false; readonly reason: 'method-not-allowed'; readonly allowed: readonly string[] };

/**
 * The routes of one wire style. A path is matched exactly, segment for segment, so the route the
 * engine decides on is the path that goes upstream: no prefix, suffix or other spelling of a known
 * route is taken for it.
 */
export class RouteTable {
  private readonly specs: readonly { spec: RouteSpec; segments: readonly string[] }[];

  constructor(specs: readonly RouteSpec[]) {
    this.specs = specs.map((spec) => ({ spec, segments: spec.pattern.split('/').slice(1) }));
  }

  get patterns(): readonly string[] {
    return this.specs.map((s) => s.spec.pattern);
  }

  /** Whether the path is one of this style's routes, whatever the method. */
  knows(path: string): boolean {
    return this.find(path) !== undefined;
  }

  match(method: string, path: string): RouteMatch {
    const spec = this.find(path);
    if (!spec) return { ok: false, reason: 'unknown-route' };
    const m = method === 'HEAD' ? 'GET' : method;
    if (!(spec.methods as readonly string[]).includes(m)) {
      const allowed = spec.methods.flatMap((x) => (x === 'GET' ? ['GET', 'HEAD'] : [x]));
      return { ok: false, reason: 'method-not-allowed', allowed };
    }
    return { ok: true, spec };
  }

  private find(path: string): RouteSpec | undefined {
    const segments = path.split('/').slice(1);
    for (const s of this.specs) {
      if (s.segments.length !== segments.length) continue;
      if (s.segments.every((p, i) => segmentMatches(p, segments[i]!))) return s.spec;
    }
    return undefined;
  }
}

/** A pattern segment `{id}`, `{model}` or `{model}:method`. */
const PLACEHOLDER = /^\{(id|model)\}(?::([A-Za-z]+))?$/;

/**
 * Whether a path segment is what a pattern segment stands for: itself; for `{id}` any non-empty
 * segment (OpenAI's fine-tuned model ids hold colons); for `{model}` a name without a colon, as
 * Google names models; for `{model}:method` such a name, a colon and exactly that method.
 */
function segmentMatches(pattern: string, segment: string): boolean {
  if (pattern === segment) return true;
  const m = PLACEHOLDER.exec(pattern);
  if (!m || segment === '') return false;
  if (m[1] === 'id') return m[2] === undefined;
  const colon = segment.indexOf(':');
  if (m[2] === undefined) return colon < 0;
  return colon > 0 && segment.slice(colon + 1) === m[2];
}

/** The name a `{model}:method` segment holds: `gemini-2.5-flash:generateContent` -> `gemini-2.5-flash`. */
export function nameBeforeMethod(segment: string): string {
  const colon = segment.indexOf(':');
  return colon < 0 ? segment : segment.slice(0, colon);
}

/** A pattern with its placeholders filled: `{id}` and `{model}` become `value`. */
export function fillRoute(pattern: string, value: string): string {
  return pattern.replace(/\{[a-z]+\}/g, value);
}
