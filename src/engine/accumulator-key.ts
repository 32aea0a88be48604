// An accumulator's name in a store: the rule (or guard) it belongs to and the identity key it
// counts for. The engine owns it because the engine decides what an accumulator is; the proxy, the
// preview and the stores only carry it. Stores keep it as a plain string (Redis keys, map keys).

/** `${rule}#${key}`: built only by `accumulatorKey`, read only by `parseAccumulatorKey`. */
export type AccumulatorKey = string & { readonly __accumulatorKey: true };

/**
 * A rule id never contains '#' (the schema's id pattern forbids it, and guard ids have none), so
 * the first '#' always ends the rule; the identity key after it may hold anything.
 */
const SEPARATOR = '#';

export function accumulatorKey(rule: string, key: string): AccumulatorKey {
  return `${rule}${SEPARATOR}${key}` as AccumulatorKey;
}

export function parseAccumulatorKey(k: string): { readonly rule: string; readonly key: string } {
  const at = k.indexOf(SEPARATOR);
  return at < 0 ? { rule: k, key: '' } : { rule: k.slice(0, at), key: k.slice(at + 1) };
}
