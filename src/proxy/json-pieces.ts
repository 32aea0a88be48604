import { isJsonSpace, jsonStringEnd, jsonValueEnd } from '../pipeline/json-text';

/*
 * Parses a large JSON body piece by piece. V8 keeps a string of 128 KiB or more in its large-object
 * space, and making one costs about a millisecond here, against about 10 µs for 120 KiB
 * (bench/README.md, Agent-sized prompts): a coding agent's 150 KB request turned into one string
 * paid that on every call, and the collections that follow. So an object or array of `pieceBytes`
 * or more is split into its members or elements, each parsed on its own (split again while still
 * as large), and the result is built from them; only a single string value that large is still made
 * whole. The text between the pieces (braces, keys, colons, commas, spaces) is checked here, so
 * exactly the texts JSON.parse accepts are accepted, with the same result.
 */

function skipSpace(b: Buffer, i: number, end: number): number {
  while (i < end && isJsonSpace(b[i]!)) i++;
  return i;
}

class PieceError extends SyntaxError {}

/** Sets `key` as an own data property, as JSON.parse does, even for `__proto__`. */
function setMember(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else target[key] = value;
}

/** The value spanning [start, end) of `b` (no surrounding space). */
function parseSpan(b: Buffer, start: number, end: number, pieceBytes: number): unknown {
  const open = b[start];
  if (end - start < pieceBytes || (open !== 0x7b && open !== 0x5b)) return JSON.parse(b.toString('utf8', start, end));
  const close = open === 0x7b ? 0x7d : 0x5d;
  if (b[end - 1] !== close) throw new PieceError('unbalanced brackets');
  const object: Record<string, unknown> | null = open === 0x7b ? {} : null;
  const array: unknown[] = [];
  let i = skipSpace(b, start + 1, end - 1);
  let first = true;
  while (i < end - 1) {
    if (!first) {
      if (b[i] !== 0x2c) throw new PieceError('expected a comma');
      i = skipSpace(b, i + 1, end - 1);
    }
    first = false;
    let key = '';
    if (object) {
      if (b[i] !== 0x22) throw new PieceError('expected a member name');
      const keyEnd = jsonStringEnd(b, i, end - 1);
      if (keyEnd < 0) throw new PieceError('unterminated member name');
      key = JSON.parse(b.toString('utf8', i, keyEnd)) as string;
      i = skipSpace(b, keyEnd, end - 1);
      if (b[i] !== 0x3a) throw new PieceError('expected a colon');
      i = skipSpace(b, i + 1, end - 1);
    }
    if (i >= end - 1) throw new PieceError('expected a value');
    const valueStop = jsonValueEnd(b, i, end - 1);
    if (valueStop < 0 || valueStop === i) throw new PieceError('unterminated value');
    const value = parseSpan(b, i, valueStop, pieceBytes);
    if (object) setMember(object, key, value);
    else array.push(value);
    i = skipSpace(b, valueStop, end - 1);
  }
  return object ?? array;
}

/**
 * JSON.parse of `b` as UTF-8, without making one string of it when it is `pieceBytes` or longer.
 * Throws JSON.parse's own SyntaxError for an invalid text.
 */
export function parseJsonPieces(b: Buffer, pieceBytes: number): unknown {
  if (b.length < pieceBytes) return JSON.parse(b.toString('utf8'));
  const start = skipSpace(b, 0, b.length);
  let end = b.length;
  while (end > start && isJsonSpace(b[end - 1]!)) end--;
  try {
    // parseSpan checks that the text is one value: a container must close on its last byte, with
    // nothing but its members before that (anything else is JSON.parse's to judge).
    if (start >= end) throw new PieceError('empty');
    return parseSpan(b, start, end, pieceBytes);
  } catch (err) {
    // An invalid text: JSON.parse of the whole says why, in its own words and positions (and
    // decides, should this reading ever refuse a text it accepts).
    if (err instanceof SyntaxError) return JSON.parse(b.toString('utf8'));
    throw err;
  }
}
