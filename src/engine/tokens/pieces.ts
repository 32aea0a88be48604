import { O200K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/encodingParams/constants';

// o200k's tokenizer cuts text into pieces with one regular expression (a word, a run of
// punctuation, a run of whitespace), then merges each piece's bytes pair by pair, in time
// quadratic in the piece's length: 60,000 'é' with no break are one piece and took 6 s. Counting
// therefore finds the pieces too long to merge quickly and bounds them instead (see count.ts).

/** The longest piece, in UTF-16 code units, whose tokens are counted exactly. */
export const PIECE_LIMIT = 256;

/**
 * A stretch of a text: pieces that count the same on their own as in place (`long` false), or
 * one piece longer than the limit together with the whitespace-only pieces just before it.
 */
export interface Segment {
  readonly start: number;
  readonly end: number;
  readonly long: boolean;
}

const LETTER = 1;
const PUNCTUATION = 2;
const SPACE = 4;
const LINE_OR_SLASH = 8;
const KNOWN = 16;
/** What each UTF-16 code unit is, filled in as code units are first seen. */
const codeUnitClasses = new Uint8Array(0x10000);
// The classes of the tokenizer's own pattern, read from this engine rather than from a list.
const letter = /\p{L}/u;
const letterOrMark = /[\p{L}\p{M}]/u;
const number = /\p{N}/u;
const space = /\s/;

/**
 * Which of the pattern's runs a code unit can extend: letters and marks, punctuation (neither
 * space, letter nor number; marks too), whitespace, and `\r \n /`. Half of a surrogate pair
 * may be a letter or a symbol, so it counts as both.
 */
function classOf(c: number): number {
  let k = codeUnitClasses[c]!;
  if (k === 0) {
    if (c >= 0xd800 && c <= 0xdfff) k = KNOWN | LETTER | PUNCTUATION;
    else {
      const ch = String.fromCharCode(c);
      const isLetter = letterOrMark.test(ch);
      const isSpace = space.test(ch);
      k = KNOWN | (isLetter ? LETTER : 0) | (isSpace ? SPACE : 0) | (c === 10 || c === 13 || c === 47 ? LINE_OR_SLASH : 0);
      if (!isSpace && !number.test(ch) && !letter.test(ch)) k |= PUNCTUATION;
    }
    codeUnitClasses[c] = k;
  }
  return k;
}

/**
 * Whether `text` can hold a piece longer than `limit`: one pass over the code units, cheaper
 * than the tokenizer's pattern, and never false when it does. An o200k piece is at most one
 * leading character, letters and marks, and a contraction of at most three characters; or a
 * space, punctuation, then line breaks and slashes; or whitespace. So a piece longer than
 * `limit` holds a run of letters and marks of `limit - 3`, or a run of half the limit of
 * punctuation, of line breaks and slashes, or of whitespace. (A number is at most three digits.)
 */
export function mayHoldLongPiece(text: string, limit = PIECE_LIMIT): boolean {
  if (text.length <= limit) return false;
  // Numbers come in pieces of up to three digits.
  if (limit < 3) return true;
  const run = Math.max(1, Math.min(limit - 3, Math.floor(limit / 2)));
  let letters = 0;
  let punctuation = 0;
  let spaces = 0;
  let linesOrSlashes = 0;
  for (let i = 0; i < text.length; i++) {
    const k = classOf(text.charCodeAt(i));
    letters = k & LETTER ? letters + 1 : 0;
    punctuation = k & PUNCTUATION ? punctuation + 1 : 0;
    spaces = k & SPACE ? spaces + 1 : 0;
    linesOrSlashes = k & LINE_OR_SLASH ? linesOrSlashes + 1 : 0;
    if (letters >= run || punctuation >= run || spaces >= run || linesOrSlashes >= run) return true;
  }
  return false;
}

/**
 * Cuts `text` where the tokenizer's own pattern cuts it, around every piece longer than `limit`,
 * so that each short segment, counted on its own, has exactly the pieces it has in place. The
 * pattern's one look-ahead, `\s+(?!\S)`, splits a run of whitespace before a non-space into two
 * pieces; counted on its own, a stretch that ends in that run would merge them into one piece,
 * and could count fewer tokens. So whitespace-only pieces that end a stretch go with the long
 * piece after them (their bytes bound them too). The pattern itself runs in linear time, even on
 * one long run (bench/engine/count.ts measures it); only the merging of a piece is quadratic.
 */
export function segments(text: string, limit = PIECE_LIMIT): Segment[] {
  const out: Segment[] = [];
  // Sticky, with a lastIndex of its own: each test() reads the next piece and allocates nothing.
  const piece = new RegExp(O200K_TOKEN_SPLIT_REGEX.source, 'uy');
  let spanStart = 0;
  /** Where the whitespace-only pieces that end the current stretch start, or -1. */
  let spaceStart = -1;
  let at = 0;
  while (at < text.length) {
    piece.lastIndex = at;
    if (!piece.test(text)) {
      // Every character belongs to some branch of the pattern; stepping keeps this total anyway.
      at += text.codePointAt(at)! > 0xffff ? 2 : 1;
      spaceStart = -1;
      continue;
    }
    const end = piece.lastIndex;
    if (end - at > limit) {
      const cut = spaceStart === -1 ? at : spaceStart;
      if (cut > spanStart) out.push({ start: spanStart, end: cut, long: false });
      out.push({ start: cut, end, long: true });
      spanStart = end;
      spaceStart = -1;
    } else if (allSpace(text, at, end)) {
      if (spaceStart === -1) spaceStart = at;
    } else {
      spaceStart = -1;
    }
    at = end;
  }
  if (spanStart < text.length) out.push({ start: spanStart, end: text.length, long: false });
  return out;
}

function allSpace(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (!(classOf(text.charCodeAt(i)) & SPACE)) return false;
  return true;
}
