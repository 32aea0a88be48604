import { LedgerError } from './errors';

/**
 * Canonical JSON for hashing and signing: object keys sorted by UTF-16 code unit, no whitespace,
 * numbers and strings as JSON.stringify writes them. This is RFC 8785 (JCS) for the values a
 * record holds, so an auditor can recompute a hash in any language. Properties whose value is
 * undefined are left out, exactly as JSON.stringify leaves them out of the journal line, so the
 * bytes hashed and the line written always describe the same object.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new LedgerError('invalid', `cannot record the non-finite number ${value}`);
      return JSON.stringify(value);
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
      const obj = value as Record<string, unknown>;
      const parts: string[] = [];
      for (const key of Object.keys(obj).sort()) {
        const v = obj[key];
        if (v === undefined) continue;
        parts.push(`${JSON.stringify(key)}:${canonicalJson(v)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new LedgerError('invalid', `cannot record a value of type ${typeof value}`);
  }
}
