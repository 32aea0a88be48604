import type { CallKind } from '../contracts/call';

/** One route a provider style serves: its path, the methods it takes and what a call to it does. */
export interface RouteSpec {
  /** Literal segments, with `{id}` standing for any one segment: `/v1/models/{id}`. */
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
      if (s.segments.every((p, i) => p === segments[i] || (p === '{id}' && segments[i] !== ''))) return s.spec;
    }
    return undefined;
  }
}
