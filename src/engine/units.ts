// Parsing of the bundle's rate, duration and date notations. Each parser returns undefined on bad
// input so the loader can report the offending value at its position.

const durationUnits: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  w: 7 * 86_400_000,
};

/** Milliseconds of a duration like 30s, 1m, 1h, 1d; undefined when malformed or not positive. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h|d|day|w)\s*$/.exec(text);
  if (!m) return undefined;
  const ms = Number(m[1]) * durationUnits[m[2]!]!;
  return ms > 0 && Number.isFinite(ms) ? ms : undefined;
}

export interface Rate {
  /** Units admitted per millisecond. */
  readonly perMs: number;
  readonly text: string;
}

const rateUnits: Record<string, number> = { s: 1000, sec: 1000, min: 60_000, m: 60_000, h: 3_600_000, hour: 3_600_000, day: 86_400_000, d: 86_400_000 };

/** A rate like 60/min; undefined when malformed or not positive. */
export function parseRate(text: string): Rate | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)?\s*(s|sec|min|m|h|hour|day|d)\s*$/.exec(text);
  if (!m) return undefined;
  const amount = Number(m[1]);
  const span = (m[2] ? Number(m[2]) : 1) * rateUnits[m[3]!]!;
  if (!(amount > 0) || !(span > 0)) return undefined;
  return { perMs: amount / span, text };
}

/**
 * An expiry instant in epoch ms. A bare date (2026-12-31) means through the end of that UTC day,
 * which is what a person writing "expires: 2026-12-31" means. Impossible dates are undefined.
 */
export function parseExpiry(text: string): number | undefined {
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (date) {
    const [y, mo, d] = [Number(date[1]), Number(date[2]), Number(date[3])];
    const start = Date.UTC(y, mo - 1, d);
    const back = new Date(start);
    if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return undefined;
    return start + 86_400_000;
  }
  return parseInstant(text);
}

/** An ISO 8601 date-time with a zone, or a date (its UTC midnight); undefined when impossible. */
export function parseInstant(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(text);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const probe = new Date(Date.UTC(y, mo - 1, d));
  if (probe.getUTCFullYear() !== y || probe.getUTCMonth() !== mo - 1 || probe.getUTCDate() !== d) return undefined;
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59)) return undefined;
  const ms = Date.parse(m[4] === undefined ? `${m[1]}-${m[2]}-${m[3]}T00:00:00Z` : m[7] ? text : `${text}Z`);
  return Number.isFinite(ms) ? ms : undefined;
}
