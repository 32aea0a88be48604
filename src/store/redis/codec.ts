import type { AccumulatorSpec } from '../../engine/limiters/spec';

// Argument and reply encoding shared by the scripts' callers. Numbers go to Redis with String(),
// the shortest text that parses back to the same double, and come back as '%.17g' strings.

/** The four spec arguments of one charge (see lua.ts for their meaning per type). */
export function specArgs(spec: AccumulatorSpec): [string, string, string, string] {
  switch (spec.type) {
    case 'bucket':
      return ['bucket', String(spec.ratePerMs), String(spec.burst), ''];
    case 'window':
      return ['window', String(spec.windowMs), String(spec.limit), ''];
    case 'calendar':
      return ['calendar', spec.unit, String(spec.limit), spec.alertAt.map(String).join(',')];
    case 'rolling':
      return ['rolling', String(spec.windowMs), String(spec.limit), spec.alertAt.map(String).join(',')];
    case 'trace':
      return ['trace', String(spec.ttlMs), String(spec.limit), ''];
    case 'distinct':
      return ['distinct', String(spec.windowMs), String(spec.limit), spec.member];
  }
}

/** A script reply as the list of strings the scripts return; anything else is a bug. */
export function replyStrings(reply: unknown): string[] {
  if (!Array.isArray(reply)) throw new TypeError(`unexpected script reply: ${typeof reply}`);
  return reply.map((x) => (typeof x === 'string' ? x : Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}

export function num(text: string | undefined): number {
  const n = Number(text);
  if (text === undefined || text === '' || Number.isNaN(n)) throw new TypeError(`unexpected number in script reply: '${text}'`);
  return n;
}

export function numberList(text: string | undefined): number[] {
  return text ? text.split(',').map(num) : [];
}

/** An HGETALL reply (field, value, field, value, ...) as pairs of strings. */
export function hashPairs(reply: unknown): [string, string][] {
  const flat = replyStrings(reply);
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}
