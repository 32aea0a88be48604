import { MalformedRequestError } from '../contracts/call';

// What every style's reader of declared tools shares: the bounds a hostile body meets, and the
// list of names each tool is declared under (each once, in the request's order). A body outside
// the bounds is refused (400) before any policy reads it; providers refuse far smaller ones.

/** More tools than any provider accepts (OpenAI: 128) by a wide margin, so no real client meets it. */
export const MAX_DECLARED_TOOLS = 2048;
/** Providers limit tool names to 64 or 128 characters; a name past this is no tool's. */
export const MAX_TOOL_NAME = 256;

/** The array a body's tool field holds; undefined when absent or null. */
export function toolArray(v: unknown, field: string): readonly unknown[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new MalformedRequestError(`"${field}" must be an array`);
  if (v.length > MAX_DECLARED_TOOLS) throw new MalformedRequestError(`"${field}" declares ${v.length} tools; at most ${MAX_DECLARED_TOOLS} are accepted`);
  return v;
}

/** An object entry of a tool array, or a 400 naming where it is. */
export function toolObject(v: unknown, where: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new MalformedRequestError(`${where} must be an object`);
  return v as Record<string, unknown>;
}

/** A tool's name, or a 400 naming where it is. */
export function toolName(v: unknown, where: string): string {
  if (typeof v !== 'string' || v === '') throw new MalformedRequestError(`${where} must be a non-empty string`);
  if (v.length > MAX_TOOL_NAME) throw new MalformedRequestError(`${where} is ${v.length} characters long; at most ${MAX_TOOL_NAME} are accepted`);
  return v;
}

/** Names collected once each, in order. */
export class ToolNames {
  private readonly seen = new Set<string>();

  add(name: string): void {
    this.seen.add(name);
  }

  /** The names, or undefined when none was declared. */
  list(): readonly string[] | undefined {
    return this.seen.size > 0 ? [...this.seen] : undefined;
  }
}

/** Whether an object has own enumerable keys. */
export function hasKeys(o: Record<string, unknown>): boolean {
  for (const k in o) if (Object.hasOwn(o, k)) return true;
  return false;
}
