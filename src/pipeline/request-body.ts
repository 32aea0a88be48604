import type { ModelCall } from '../contracts/call';
import type { ProviderAdapter, RequestChanges } from '../providers/adapter';
import { isJsonSpace, jsonValueEnd } from './json-text';

/** One top-level member of a JSON object body: its key and the bytes `"key": value` span. */
export interface Member {
  readonly key: string;
  readonly start: number;
  readonly end: number;
}

/**
 * A request body as the call forwards it. A small body is kept parsed and rewritten whole. A
 * large one is kept as its bytes, with where each top-level member lies and the values of the
 * members the style's rewrite may change: forwarding it then copies bytes once instead of
 * copying a parsed body between threads and serialising it again on the request thread.
 */
export type RequestBody =
  | { readonly kind: 'none' }
  | { readonly kind: 'parsed'; readonly json: Record<string, unknown> }
  | { readonly kind: 'raw'; readonly bytes: Buffer; readonly members: readonly Member[]; readonly fields: Readonly<Record<string, unknown>> };

/** The body as `kind: 'raw'`: `json` is what `bytes` parse to, and must be an object. */
export function rawBody(bytes: Buffer, json: Record<string, unknown>, rewriteFields: readonly string[]): RequestBody {
  const fields: Record<string, unknown> = {};
  for (const f of rewriteFields) if (Object.hasOwn(json, f)) fields[f] = json[f];
  return { kind: 'raw', bytes, members: topLevelMembers(bytes), fields };
}

/** Skips one value of valid JSON starting at `i` (no leading space); returns the index after it. */
function skipValue(b: Buffer, i: number): number {
  const after = jsonValueEnd(b, i);
  return after < 0 ? b.length : after;
}

/** The top-level members of a JSON object text already known to be valid, in one pass. */
export function topLevelMembers(b: Buffer): Member[] {
  const out: Member[] = [];
  let i = 0;
  while (i < b.length && isJsonSpace(b[i]!)) i++;
  if (b[i] !== 0x7b) throw new TypeError('the body is not a JSON object');
  i++;
  for (;;) {
    while (i < b.length && (isJsonSpace(b[i]!) || b[i] === 0x2c)) i++;
    if (i >= b.length || b[i] === 0x7d) return out;
    const start = i;
    const keyEnd = skipValue(b, i); // the key, a string
    const key = JSON.parse(b.toString('utf8', start, keyEnd)) as string;
    i = keyEnd;
    while (i < b.length && (isJsonSpace(b[i]!) || b[i] === 0x3a)) i++;
    i = skipValue(b, i);
    out.push({ key, start, end: i });
  }
}

/** The value of one member of a body known to be valid JSON, parsed on its own. */
function memberValue(bytes: Buffer, m: Member): unknown {
  const parsed = JSON.parse(`{${bytes.toString('utf8', m.start, m.end)}}`) as Record<string, unknown>;
  return parsed[m.key];
}

/**
 * The bytes to send upstream: the body with the policy's changes (served model, output cap, the
 * end-user pseudonym, a usage request) applied by the style's rewrite, in parts to be written
 * one after another. A raw body is spliced: members the rewrite changed are written anew, every
 * other member is a view of the bytes as they came, so nothing large is copied.
 */
export function renderBody(body: RequestBody, adapter: ProviderAdapter, call: ModelCall, changes: RequestChanges): { parts: Buffer[]; strippedUsage: boolean } {
  if (body.kind === 'none') return { parts: [], strippedUsage: false };
  if (body.kind === 'parsed') {
    const r = adapter.rewrite(body.json, call, changes);
    return { parts: [Buffer.from(JSON.stringify(r.body))], strippedUsage: r.strippedUsage };
  }
  const input = { ...body.fields };
  // Tools to strip: the members declaring them are parsed now, each alone, not the whole body.
  if (changes.stripTools?.length) for (const m of body.members) if (adapter.toolFields.includes(m.key)) input[m.key] = memberValue(body.bytes, m);
  const r = adapter.rewrite(input, call, changes);
  const rewritten = new Set<string>();
  for (const key of new Set([...Object.keys(r.body), ...Object.keys(input)])) {
    if (r.body[key] === input[key] && Object.hasOwn(r.body, key) === Object.hasOwn(input, key)) continue;
    // A rewrite may only touch the fields its style declares: any other would be lost here.
    if (!adapter.rewriteFields.includes(key) && !adapter.toolFields.includes(key)) throw new Error(`the ${adapter.style} rewrite changed '${key}', which its rewriteFields do not declare`);
    rewritten.add(key);
  }
  const parts: Buffer[] = [Buffer.from('{')];
  const add = (part: Buffer): void => {
    if (parts.length > 1) parts.push(Buffer.from(','));
    parts.push(part);
  };
  for (const key of rewritten) if (Object.hasOwn(r.body, key)) add(Buffer.from(`${JSON.stringify(key)}:${JSON.stringify(r.body[key])}`));
  for (const m of body.members) if (!rewritten.has(m.key)) add(body.bytes.subarray(m.start, m.end));
  parts.push(Buffer.from('}'));
  return { parts, strippedUsage: r.strippedUsage };
}
