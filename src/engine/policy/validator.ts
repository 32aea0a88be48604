import Ajv from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { PolicySchema } from './schema';
import type { PolicyDocument } from './schema';
import type { PolicyPath } from './source';
import { counted } from '../../contracts/wording';

export interface SchemaIssue {
  readonly path: PolicyPath;
  /** Report at the key rather than the value (an unknown key). */
  readonly atKey: boolean;
  readonly message: string;
}

let compiled: ValidateFunction<PolicyDocument> | undefined;

function validator(): ValidateFunction<PolicyDocument> {
  // Compiled lazily: Ajv generates code, which costs a few milliseconds once per process.
  if (!compiled) {
    const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
    addFormats(ajv, ['uri']);
    compiled = ajv.compile<PolicyDocument>(PolicySchema as object);
  }
  return compiled;
}

function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

function suggest(unknown: string, known: readonly string[]): string {
  const best = known.map((k) => ({ k, d: levenshtein(unknown, k) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= Math.max(2, Math.floor(unknown.length / 3)) ? ` (did you mean '${best.k}'?)` : '';
}

function describeBranches(branches: unknown): string | undefined {
  if (!Array.isArray(branches)) return undefined;
  const consts = branches.map((b) => (b as { const?: unknown }).const);
  if (consts.every((c) => c !== undefined)) return `must be one of: ${consts.map(String).join(', ')}`;
  return undefined;
}

function plainMessage(e: ErrorObject): string {
  switch (e.keyword) {
    case 'required':
      return `missing required key '${(e.params as { missingProperty: string }).missingProperty}'`;
    case 'type':
      return `must be a ${(e.params as { type: string }).type}`;
    case 'const':
      return `must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`;
    case 'enum':
      return `must be one of: ${((e.params as { allowedValues: unknown[] }).allowedValues).join(', ')}`;
    case 'exclusiveMinimum':
      return `must be greater than ${(e.params as { limit: number }).limit}`;
    case 'minimum':
      return `must be at least ${(e.params as { limit: number }).limit}`;
    case 'maximum':
      return `must be at most ${(e.params as { limit: number }).limit}`;
    case 'pattern':
      return `has an invalid form (${e.parentSchema && (e.parentSchema as { description?: string }).description ? (e.parentSchema as { description: string }).description : `expected ${(e.params as { pattern: string }).pattern}`})`;
    case 'format':
      return `must be a valid ${(e.params as { format: string }).format}`;
    case 'minItems':
      return `must have at least ${counted((e.params as { limit: number }).limit, 'item')}`;
    case 'minProperties':
      return `must have at least ${counted((e.params as { limit: number }).limit, 'key')}`;
    default:
      return e.message ?? 'is invalid';
  }
}

/**
 * Validates a parsed bundle against the schema and turns Ajv's errors into one message per
 * problem: an unknown key names itself (and the likely intended key), and a union of literals
 * says which values are allowed instead of listing every failed branch.
 */
export function validatePolicyDocument(value: unknown): SchemaIssue[] {
  const validate = validator();
  if (validate(value)) return [];
  const errors = validate.errors ?? [];
  const dropped = new Set<ErrorObject>();
  const extra: SchemaIssue[] = [];
  for (const e of errors) {
    if (e.keyword !== 'anyOf') continue;
    const children = errors.filter((c) => c !== e && c.schemaPath.startsWith(`${e.schemaPath}/`) && c.instancePath.startsWith(e.instancePath));
    const deeper = children.some((c) => c.instancePath.length > e.instancePath.length);
    dropped.add(e);
    for (const c of children) if (c.instancePath === e.instancePath) dropped.add(c);
    // A nested union at the same place was already summarised; its summary stands for both.
    const nested = children.some((c) => c.keyword === 'anyOf' && c.instancePath === e.instancePath);
    if (!deeper && !nested) {
      extra.push({ path: pointerToPath(e.instancePath), atKey: false, message: describeBranches(e.schema) ?? children.map(plainMessage).filter((m, i, a) => a.indexOf(m) === i).join(' or ') });
    }
  }
  const issues: SchemaIssue[] = [];
  for (const e of errors) {
    if (dropped.has(e)) continue;
    const path = pointerToPath(e.instancePath);
    if (e.keyword === 'additionalProperties') {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      const known = Object.keys(((e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties) ?? {});
      issues.push({ path: [...path, key], atKey: true, message: `unknown key '${key}'${suggest(key, known)}` });
    } else if (e.keyword === 'required') {
      issues.push({ path, atKey: false, message: plainMessage(e) });
    } else {
      issues.push({ path, atKey: false, message: plainMessage(e) });
    }
  }
  issues.push(...extra);
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${JSON.stringify(i.path)}|${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
