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

const SPACE = 1;
const LINE_OR_SLASH = 2;
const KNOWN = 4;
/** What each UTF-16 code unit is, filled in as code units are first seen. */
const codeUnitClasses = new Uint8Array(0x10000);
const space = /\s/;

/** Whether a code unit is `\s` to this engine, and whether it is one of `\r \n /`. */
function classOf(c: number): number {
  let k = codeUnitClasses[c]!;
  if (k === 0) {
    // Read from the engine's own `\s`, the one the tokenizer's pattern uses, rather than a list.
    k = KNOWN | (space.test(String.fromCharCode(c)) ? SPACE : 0) | (c === 10 || c === 13 || c === 47 ? LINE_OR_SLASH : 0);
    codeUnitClasses[c] = k;
  }
  return k;
}

/**
 * Whether `text` can hold a piece longer than `limit`: one pass over the code units, cheaper
 * than the tokenizer's pattern, and never false when it does. An o200k piece is an optional
 * leading character and then letters with an optional contraction (all not `\s`), or
 * punctuation followed by line breaks and slashes, or whitespace; so a piece longer than `limit`
 * holds a run of half the limit that is all `\s`, all not `\s`, or all `\r \n /`.
 */
export function mayHoldLongPiece(text: string, limit = PIECE_LIMIT): boolean {
  if (text.length <= limit) return false;
  const run = Math.max(1, Math.floor(limit / 2));
  let spaces = 0;
  let others = 0;
  let linesOrSlashes = 0;
  for (let i = 0; i < text.length; i++) {
    const k = classOf(text.charCodeAt(i));
    if (k & SPACE) {
      spaces++;
      others = 0;
    } else {
      others++;
      spaces = 0;
    }
    linesOrSlashes = k & LINE_OR_SLASH ? linesOrSlashes + 1 : 0;
    if (spaces >= run || others >= run || linesOrSlashes >= run) return true;
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
