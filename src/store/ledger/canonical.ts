import { LedgerError } from './errors';

/**
 * Canonical JSON for hashing and signing: object keys sorted by UTF-16 code unit, no whitespace,
 * numbers and strings as JSON.stringify writes them. This is RFC 8785 (JCS) for the values a
 * record holds, so an auditor can recompute a hash in any language. Properties whose value is
 * undefined are left out, exactly as JSON.stringify leaves them out of the journal line, so the
 * bytes hashed and the line written always describe the same object.
 *
 * Every record is sealed through this and every record the proxy replays at start is checked
 * through it, so it builds one string instead of arrays of parts, and quotes each key name once.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new LedgerError('invalid', `cannot record the non-finite number ${value}`);
      return JSON.stringify(value);
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          const v: unknown = value[i];
          out += v === undefined ? 'null' : canonicalJson(v);
        }
        return `${out}]`;
      }
      return objectJson(value as Record<string, unknown>, false);
    }
    default:
      throw new LedgerError('invalid', `cannot record a value of type ${typeof value}`);
  }
}

/**
 * The canonical JSON of a record without its `hash` and `sig`: what its hash covers. Leaving the
 * two keys out here, instead of copying the record without them, spares an object per record
 * (and `delete`, which turns an object into a slow dictionary).
 */
export function canonicalRecordJson(record: object): string {
  return objectJson(record as Record<string, unknown>, true);
}

function objectJson(obj: Record<string, unknown>, skipSeal: boolean): string {
  const keys = Object.keys(obj).sort();
  let out = '{';
  let first = true;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const v = obj[key];
    if (v === undefined || (skipSeal && (key === 'hash' || key === 'sig'))) continue;
    if (!first) out += ',';
    first = false;
    out += `${quotedKey(key)}:${canonicalJson(v)}`;
  }
  return `${out}}`;
}

// Records use a few dozen key names over and over. A plain map, filled up to a bound and then
// left as it is, costs less per lookup than an LRU; a key past the bound is quoted each time.
const keyCache = new Map<string, string>();
const KEY_CACHE_MAX = 4096;

function quotedKey(key: string): string {
  let quoted = keyCache.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key);
    if (keyCache.size < KEY_CACHE_MAX) keyCache.set(key, quoted);
  }
  return quoted;
}
