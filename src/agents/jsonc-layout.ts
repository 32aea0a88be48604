// The layout of a JSON file (with the comments and trailing commas VS Code's and Gemini CLI's
// settings allow): each value's span and each member's key, so one value can be replaced and every
// other byte stays as its owner wrote it. Members are kept in arrays, never as properties of a
// plain object, so a key like `__proto__` is only a name.

export type JsonNode =
  | { readonly kind: 'object'; readonly start: number; readonly end: number; readonly members: readonly JsonMember[] }
  | { readonly kind: 'array'; readonly start: number; readonly end: number; readonly items: readonly JsonNode[] }
  | { readonly kind: 'string'; readonly start: number; readonly end: number; readonly value: string }
  | { readonly kind: 'number' | 'literal'; readonly start: number; readonly end: number; readonly value: number | boolean | null };

export interface JsonMember {
  readonly key: string;
  readonly value: JsonNode;
}

export type JsoncLayoutErrorReason = 'unreadable' | 'too-deep';

export class JsoncLayoutError extends Error {
  constructor(
    readonly reason: JsoncLayoutErrorReason,
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'JsoncLayoutError';
  }
  static is(err: unknown, reason?: JsoncLayoutErrorReason): err is JsoncLayoutError {
    return err instanceof JsoncLayoutError && (reason === undefined || err.reason === reason);
  }
}

/** Deeper than any settings file needs; a hostile file cannot exhaust the stack. */
export const MAX_JSON_DEPTH = 64;

class Parser {
  private i = 0;
  constructor(private readonly text: string) {}

  document(): JsonNode {
    if (this.text.charCodeAt(0) === 0xfeff) this.i = 1;
    const root = this.value(0);
    this.skip();
    if (this.i < this.text.length) this.fail(`unexpected '${this.text[this.i]}' after the document`);
    return root;
  }

  private line(): number {
    let n = 1;
    for (let k = 0; k < this.i && k < this.text.length; k++) if (this.text[k] === '\n') n++;
    return n;
  }

  private fail(message: string, reason: JsoncLayoutErrorReason = 'unreadable'): never {
    throw new JsoncLayoutError(reason, this.line(), message);
  }

  /** Whitespace and comments. */
  private skip(): void {
    for (;;) {
      const c = this.text[this.i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') this.i++;
      else if (this.text.startsWith('//', this.i)) {
        while (this.i < this.text.length && this.text[this.i] !== '\n') this.i++;
      } else if (this.text.startsWith('/*', this.i)) {
        const close = this.text.indexOf('*/', this.i + 2);
        if (close < 0) this.fail('a /* comment is never closed');
        this.i = close + 2;
      } else return;
    }
  }

  private value(depth: number): JsonNode {
    if (depth > MAX_JSON_DEPTH) this.fail(`nested deeper than ${MAX_JSON_DEPTH} levels`, 'too-deep');
    this.skip();
    const start = this.i;
    const c = this.text[this.i];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return { kind: 'string', start, end: this.i, value: this.string() };
    const word = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(this.text.slice(this.i, this.i + 400));
    if (!word) this.fail(c === undefined ? 'the document ends where a value should be' : `unexpected '${c}' where a value should be`);
    this.i += word[0].length;
    if (/^[tfn]/.test(word[0])) return { kind: 'literal', start, end: this.i, value: word[0] === 'null' ? null : word[0] === 'true' };
    return { kind: 'number', start, end: this.i, value: Number(word[0]) };
  }

  private string(): string {
    const from = this.i++;
    while (this.i < this.text.length) {
      const c = this.text[this.i]!;
      if (c === '\\') this.i += 2;
      else if (c === '"') {
        this.i++;
        try {
          return JSON.parse(this.text.slice(from, this.i)) as string;
        } catch {
          this.i = from;
          return this.fail('a string has a bad escape or a raw control character');
        }
      } else if (c === '\n' || c === '\r') break;
      else this.i++;
    }
    this.i = from;
    return this.fail('a string is not closed on its line');
  }

  private object(depth: number): JsonNode {
    const start = this.i++;
    const members: JsonMember[] = [];
    for (;;) {
      this.skip();
      if (this.text[this.i] === '}') break;
      if (this.text[this.i] !== '"') this.fail(this.i >= this.text.length ? 'an object is never closed' : `expected a quoted key, found '${this.text[this.i]}'`);
      const key = this.string();
      this.skip();
      if (this.text[this.i] !== ':') this.fail(`expected ':' after the key ${JSON.stringify(key)}`);
      this.i++;
      members.push({ key, value: this.value(depth + 1) });
      this.skip();
      if (this.text[this.i] === ',') this.i++;
      else if (this.text[this.i] !== '}') this.fail(this.i >= this.text.length ? 'an object is never closed' : `expected ',' or '}', found '${this.text[this.i]}'`);
    }
    this.i++;
    return { kind: 'object', start, end: this.i, members };
  }

  private array(depth: number): JsonNode {
    const start = this.i++;
    const items: JsonNode[] = [];
    for (;;) {
      this.skip();
      if (this.text[this.i] === ']') break;
      items.push(this.value(depth + 1));
      this.skip();
      if (this.text[this.i] === ',') this.i++;
      else if (this.text[this.i] !== ']') this.fail(this.i >= this.text.length ? 'an array is never closed' : `expected ',' or ']', found '${this.text[this.i]}'`);
    }
    this.i++;
    return { kind: 'array', start, end: this.i, items };
  }
}

/** Reads a JSON (or JSON with comments) document's layout; throws JsoncLayoutError where it cannot. */
export function jsoncLayout(text: string): JsonNode {
  return new Parser(text).document();
}

/** The members of an object node named `key` (several when the file repeats a key). */
export function membersNamed(node: JsonNode, key: string): JsonMember[] {
  return node.kind === 'object' ? node.members.filter((m) => m.key === key) : [];
}

/** A node's plain value, for reading small parts of the file (never for rewriting it). */
export function plainValue(node: JsonNode): unknown {
  switch (node.kind) {
    case 'object': {
      // A null-prototype record: a `__proto__` key stays an ordinary name.
      const out = Object.create(null) as Record<string, unknown>;
      for (const m of node.members) out[m.key] = plainValue(m.value);
      return out;
    }
    case 'array':
      return node.items.map(plainValue);
    default:
      return node.value;
  }
}
