import type { TelemetryConfig } from '../engine/policy/model';
import { MAX_NAME_LENGTH } from './genai-names';

// Label values that come from callers (a model name, an agent name) are bounded here: every
// distinct value is a new time series in Prometheus and in whatever a collector feeds, so a caller
// sending a fresh model or agent name on each request must not grow them without end.

/** What a value past the bound is reported as: the OpenTelemetry conventions' catch-all. */
export const OTHER_VALUE = '_OTHER';

/**
 * The first `capacity` distinct values seen pass as they are (cut to MAX_NAME_LENGTH: a client
 * may name a model of any length); every later one is `_OTHER`. The first seen are kept (not the
 * most recent) so a series, once started, is never cut short.
 */
export class BoundedValues {
  private readonly seen = new Set<string>();

  constructor(private readonly capacity: number) {}

  of(named: string): string {
    const value = named.length > MAX_NAME_LENGTH ? named.slice(0, MAX_NAME_LENGTH) : named;
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.capacity) return OTHER_VALUE;
    this.seen.add(value);
    return value;
  }
}

/**
 * The person label of Tollgate's own metrics, or undefined when the bundle wants none: only with
 * `per_person_metrics`, and named as traces name the person (a pseudonym by default, the address
 * with `identity: user`, not at all with `identity: none`).
 */
export function personLabel(telemetry: TelemetryConfig, user: string, pseudonymOf: (user: string) => string): string | undefined {
  if (!telemetry.perPersonMetrics) return undefined;
  switch (telemetry.identity) {
    case 'pseudonym':
      return pseudonymOf(user);
    case 'user':
      return user;
    case 'none':
      return undefined;
  }
}

/**
 * The person an accumulator's identity key counts for (`user:alice@acme.dev`, or the person of
 * `agent:alice@acme.dev/notebook`), or undefined for a key with no person in it (role, tenant,
 * classification, session, or none). Agent names may hold '/', addresses do not: the person ends
 * at the first '/'.
 */
export function personOfKey(key: string): string | undefined {
  for (const part of key.split(',')) {
    if (part.startsWith('user:')) return part.slice('user:'.length);
    if (part.startsWith('agent:')) {
      const value = part.slice('agent:'.length);
      const slash = value.indexOf('/');
      return slash < 0 ? value : value.slice(0, slash);
    }
  }
  return undefined;
}
