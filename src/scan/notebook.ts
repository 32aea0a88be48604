import type { DerivedText } from './derived-text';
import { DerivedTextBuilder } from './derived-text';

// A JSON value with its strings left as ranges of the file, decoded only where a notebook holds
// code or printed text; a notebook's images (large base64 strings) are stepped over, not copied.
type JsonValue =
  | { readonly kind: 'string'; readonly start: number; readonly end: number }
  | { readonly kind: 'array'; readonly items: readonly JsonValue[] }
  | { readonly kind: 'object'; readonly members: ReadonlyMap<string, JsonValue> }
  | { readonly kind: 'other' };

class NotJson extends Error {}

const maxDepth = 64;
const scalar = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;
const escapes: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

class JsonReader {
  private at = 0;

  constructor(private readonly text: string) {}

  document(): JsonValue {
    const value = this.value(0);
    this.space();
    if (this.at !== this.text.length) throw new NotJson();
    return value;
  }

  private space(): void {
    while (this.at < this.text.length) {
      const c = this.text.charCodeAt(this.at);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.at++;
    }
  }

  private expect(ch: string): void {
    this.space();
    if (this.text[this.at] !== ch) throw new NotJson();
    this.at++;
  }

  private value(depth: number): JsonValue {
    if (depth > maxDepth) throw new NotJson();
    this.space();
    const c = this.text[this.at];
    if (c === '"') return this.string();
    if (c === '[') return this.array(depth);
    if (c === '{') return this.object(depth);
    scalar.lastIndex = this.at;
    const m = scalar.exec(this.text);
    if (!m) throw new NotJson();
    this.at += m[0].length;
    return { kind: 'other' };
  }

  private string(): { kind: 'string'; start: number; end: number } {
    const start = this.at;
    let i = start + 1;
    for (;;) {
      const quote = this.text.indexOf('"', i);
      if (quote < 0) throw new NotJson();
      let backslashes = 0;
      while (this.text[quote - 1 - backslashes] === '\\') backslashes++;
      i = quote + 1;
      if (backslashes % 2 === 0) break;
    }
    this.at = i;
    return { kind: 'string', start, end: i };
  }

  private array(depth: number): JsonValue {
    const items: JsonValue[] = [];
    this.at++;
    this.space();
    if (this.text[this.at] === ']') {
      this.at++;
      return { kind: 'array', items };
    }
    for (;;) {
      items.push(this.value(depth + 1));
      this.space();
      if (this.text[this.at] === ']') break;
      this.expect(',');
    }
    this.at++;
    return { kind: 'array', items };
  }

  private object(depth: number): JsonValue {
    const members = new Map<string, JsonValue>();
    this.at++;
    this.space();
    if (this.text[this.at] === '}') {
      this.at++;
      return { kind: 'object', members };
    }
    for (;;) {
      this.space();
      if (this.text[this.at] !== '"') throw new NotJson();
      const key = this.string();
      this.expect(':');
      members.set(decodeString(this.text, key), this.value(depth + 1));
      this.space();
      if (this.text[this.at] === '}') break;
      this.expect(',');
    }
    this.at++;
    return { kind: 'object', members };
  }
}

function decodeString(text: string, s: { start: number; end: number }): string {
  const builder = new DerivedTextBuilder();
  appendString(builder, text, s);
  return builder.build(false).text;
}

/** Appends a JSON string's value, each character mapped to the characters that write it. */
function appendString(builder: DerivedTextBuilder, text: string, s: { start: number; end: number }): void {
  const last = s.end - 1;
  let i = s.start + 1;
  while (i < last) {
    const slash = text.indexOf('\\', i);
    const runEnd = slash < 0 || slash >= last ? last : slash;
    builder.verbatim(text.slice(i, runEnd), i);
    if (runEnd === last) return;
    const kind = text[slash + 1] ?? '';
    if (kind === 'u') {
      const code = Number.parseInt(text.slice(slash + 2, slash + 6), 16);
      if (Number.isNaN(code)) throw new NotJson();
      builder.char(String.fromCharCode(code), slash, slash + 6);
      i = slash + 6;
    } else {
      const ch = escapes[kind];
      if (ch === undefined) throw new NotJson();
      builder.char(ch, slash, slash + 2);
      i = slash + 2;
    }
  }
}

function member(value: JsonValue | undefined, name: string): JsonValue | undefined {
  return value?.kind === 'object' ? value.members.get(name) : undefined;
}

function items(value: JsonValue | undefined): readonly JsonValue[] {
  return value?.kind === 'array' ? value.items : [];
}

/**
 * Appends a multi-line notebook string: one string, or an array of lines joined as they stand
 * (nbformat keeps each line's own newline, and a line broken in two is joined back with nothing
 * between). Traceback lines carry no newline of their own; one stands on the closing quote.
 */
function appendMultiline(builder: DerivedTextBuilder, text: string, value: JsonValue | undefined, lineBreaks: boolean): void {
  const parts = value?.kind === 'string' ? [value] : items(value).filter((v) => v.kind === 'string');
  builder.separate();
  parts.forEach((part, i) => {
    const previous = parts[i - 1];
    if (lineBreaks && previous) builder.char('\n', previous.end - 1, previous.end);
    appendString(builder, text, part);
  });
}

/**
 * The code and printed text of a Jupyter notebook, as one text: each cell's source, and its
 * outputs' text (stream text, `text/*` results, tracebacks). Undefined for text that is not a
 * notebook.
 */
export function notebookText(text: string): DerivedText | undefined {
  let root: JsonValue;
  try {
    root = new JsonReader(text).document();
  } catch (err) {
    if (err instanceof NotJson) return undefined;
    throw err;
  }
  const builder = new DerivedTextBuilder();
  for (const cell of items(member(root, 'cells'))) {
    appendMultiline(builder, text, member(cell, 'source'), false);
    for (const output of items(member(cell, 'outputs'))) {
      appendMultiline(builder, text, member(output, 'text'), false);
      appendMultiline(builder, text, member(output, 'traceback'), true);
      const data = member(output, 'data');
      if (data?.kind !== 'object') continue;
      for (const [mime, value] of data.members) if (mime.startsWith('text/')) appendMultiline(builder, text, value, false);
    }
  }
  return builder.isEmpty ? undefined : builder.build(true);
}
