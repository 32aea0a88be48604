// The layout of a TOML file: where each statement (table header, key/value, comment, blank line)
// starts and ends, and the key path it names. Values are skipped, not read, so a file can be edited
// one statement at a time and every byte outside the edit stays as its owner wrote it.

export type TomlStatementKind = 'header' | 'array-header' | 'keyvalue' | 'comment' | 'blank';

export interface TomlStatement {
  readonly kind: TomlStatementKind;
  /** Offset of the statement's first character (its indentation included). */
  readonly start: number;
  /** Offset just past the statement's line ending (or the end of the file). */
  readonly end: number;
  /** 1-based line the statement starts on. */
  readonly line: number;
  /** A header's table path, or a key/value's key path relative to its table. */
  readonly path: readonly string[];
  /** For a key/value: the raw text of its value, trimmed, without a trailing comment. */
  readonly value?: string;
}

export type TomlLayoutErrorReason = 'unreadable';

export class TomlLayoutError extends Error {
  readonly reason: TomlLayoutErrorReason = 'unreadable';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'TomlLayoutError';
  }
  static is(err: unknown, reason?: TomlLayoutErrorReason): err is TomlLayoutError {
    return err instanceof TomlLayoutError && (reason === undefined || err.reason === reason);
  }
}

const bareKeyChar = /[A-Za-z0-9_-]/;

class Scanner {
  private i = 0;
  private lineNo = 1;
  constructor(private readonly text: string) {}

  statements(): TomlStatement[] {
    const out: TomlStatement[] = [];
    if (this.text.charCodeAt(0) === 0xfeff) this.i = 1;
    while (this.i < this.text.length) out.push(this.statement());
    return out;
  }

  private fail(message: string): never {
    throw new TomlLayoutError(this.lineNo, message);
  }

  private statement(): TomlStatement {
    const start = this.i === 1 && this.text.charCodeAt(0) === 0xfeff ? 0 : this.i;
    const line = this.lineNo;
    this.skipSpaces();
    const c = this.text[this.i];
    if (c === undefined || c === '\n' || c === '\r') {
      this.endOfLine();
      return { kind: 'blank', start, end: this.i, line, path: [] };
    }
    if (c === '#') {
      this.restOfLine();
      return { kind: 'comment', start, end: this.i, line, path: [] };
    }
    if (c === '[') {
      const array = this.text[this.i + 1] === '[';
      this.i += array ? 2 : 1;
      const path = this.keyPath();
      if (!this.text.startsWith(array ? ']]' : ']', this.i)) this.fail(`a table header must end with '${array ? ']]' : ']'}'`);
      this.i += array ? 2 : 1;
      this.restOfLine();
      return { kind: array ? 'array-header' : 'header', start, end: this.i, line, path };
    }
    const path = this.keyPath();
    if (this.text[this.i] !== '=') this.fail(`expected '=' after the key ${path.join('.')}`);
    this.i++;
    const valueStart = this.i;
    const valueEnd = this.value();
    const value = this.text.slice(valueStart, valueEnd).trim();
    if (value === '') this.fail(`the key ${path.join('.')} has no value`);
    this.restOfLine();
    return { kind: 'keyvalue', start, end: this.i, line, path, value };
  }

  private skipSpaces(): void {
    while (this.text[this.i] === ' ' || this.text[this.i] === '\t') this.i++;
  }

  /** After a statement: optional spaces and comment, then the line ending. */
  private restOfLine(): void {
    this.skipSpaces();
    if (this.text[this.i] === '#') while (this.i < this.text.length && this.text[this.i] !== '\n') this.i++;
    else if (this.i < this.text.length && !this.atLineEnd()) this.fail(`unexpected '${this.text[this.i]}' after the statement`);
    this.endOfLine();
  }

  private atLineEnd(): boolean {
    return this.text[this.i] === '\n' || this.text.startsWith('\r\n', this.i) || this.text[this.i] === '\r';
  }

  private endOfLine(): void {
    if (this.text.startsWith('\r\n', this.i)) this.i += 2;
    else if (this.text[this.i] === '\n' || this.text[this.i] === '\r') this.i++;
    else if (this.i < this.text.length) this.fail('expected the end of the line');
    this.lineNo++;
  }

  private keyPath(): string[] {
    const parts: string[] = [];
    for (;;) {
      this.skipSpaces();
      parts.push(this.keyPart());
      this.skipSpaces();
      if (this.text[this.i] !== '.') return parts;
      this.i++;
    }
  }

  private keyPart(): string {
    const c = this.text[this.i];
    if (c === '"') return decodeBasic(this.quoted('"'), this.lineNo);
    if (c === "'") return this.quoted("'").slice(1, -1);
    const from = this.i;
    while (this.i < this.text.length && bareKeyChar.test(this.text[this.i]!)) this.i++;
    if (this.i === from) this.fail(c === undefined || c === '\n' || c === '\r' ? 'a key is missing' : `unexpected '${c}' in a key`);
    return this.text.slice(from, this.i);
  }

  /** A one-line string starting at the quote; returns it with its quotes. */
  private quoted(q: '"' | "'"): string {
    const from = this.i++;
    while (this.i < this.text.length) {
      const c = this.text[this.i]!;
      if (c === '\n' || c === '\r') break;
      if (q === '"' && c === '\\') {
        this.i += 2;
        continue;
      }
      this.i++;
      if (c === q) return this.text.slice(from, this.i);
    }
    return this.fail('a string is not closed on its line');
  }

  /** A multi-line string starting at its three quotes; line breaks inside it are counted. */
  private multiline(q: '"' | "'"): void {
    const delim = q.repeat(3);
    this.i += 3;
    while (this.i < this.text.length) {
      const c = this.text[this.i]!;
      if (q === '"' && c === '\\') {
        if (this.text[this.i + 1] === '\n') this.lineNo++;
        this.i += 2;
        continue;
      }
      if (this.text.startsWith(delim, this.i)) {
        this.i += 3;
        // Up to two quotes right before the closing delimiter belong to the content.
        for (let extra = 0; extra < 2 && this.text[this.i] === q; extra++) this.i++;
        return;
      }
      if (c === '\n') this.lineNo++;
      this.i++;
    }
    this.fail(`a multi-line string (${delim}) is never closed`);
  }

  /** Skips a value (strings, arrays and inline tables over several lines included); returns where it ends. */
  private value(): number {
    let depth = 0;
    let end = this.i;
    while (this.i < this.text.length) {
      const c = this.text[this.i]!;
      if (c === '"' || c === "'") {
        if (this.text.startsWith(c.repeat(3), this.i)) this.multiline(c);
        else this.quoted(c);
        end = this.i;
        continue;
      }
      if (c === '#') {
        while (this.i < this.text.length && this.text[this.i] !== '\n' && this.text[this.i] !== '\r') this.i++;
        continue;
      }
      if (c === '\n' || c === '\r') {
        if (depth === 0) return end;
        this.endOfLine();
        continue;
      }
      if (c === '[' || c === '{') depth++;
      else if (c === ']' || c === '}') {
        depth--;
        if (depth < 0) this.fail(`unexpected '${c}'`);
      }
      this.i++;
      if (c !== ' ' && c !== '\t') end = this.i;
    }
    if (depth > 0) this.fail('an array or inline table is never closed');
    return end;
  }
}

/** A basic string's content; TOML's escapes are JSON's plus \UXXXXXXXX and \e. */
function decodeBasic(quoted: string, line: number): string {
  const json = quoted.replace(/\\U([0-9A-Fa-f]{8})|\\e/g, (_m: string, hex: string | undefined) => {
    if (!hex) return '\\u001b';
    return JSON.stringify(String.fromCodePoint(parseInt(hex, 16))).slice(1, -1);
  });
  try {
    return JSON.parse(json) as string;
  } catch {
    throw new TomlLayoutError(line, `cannot read the quoted key ${quoted}`);
  }
}

/** Splits a TOML document into statements; throws TomlLayoutError where it cannot follow the file. */
export function tomlLayout(text: string): TomlStatement[] {
  return new Scanner(text).statements();
}

/** A one-line string value's content, or undefined when the value is not a plain string. */
export function tomlStringValue(value: string): string | undefined {
  if (/^"(?:[^"\\\n]|\\.)*"$/.test(value)) {
    try {
      return decodeBasic(value, 0);
    } catch {
      return undefined;
    }
  }
  const literal = /^'([^'\n]*)'$/.exec(value);
  return literal ? literal[1] : undefined;
}

/** A string as a TOML basic string (JSON's escapes are TOML's, except DEL, which TOML wants escaped). */
export function tomlString(text: string): string {
  return JSON.stringify(text).replace(/\x7f/g, '\\u007f');
}
