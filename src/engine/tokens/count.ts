import { countTokens, setMergeCacheSize } from 'gpt-tokenizer/encoding/o200k_base';
import { LRUCache } from 'lru-cache';
import { mayHoldLongPiece, segments } from './pieces';

// Token counting before the call: the generic tokenizer every provider style counts with. Text is
// counted with o200k_base, the encoding of the GPT-4o and later families; a style whose models
// tokenize otherwise scales it in its own folder (src/providers/<style>/count.ts).

const noSpecial = { disallowedSpecial: new Set<string>() };

// The tokenizer remembers the tokens of the pieces it merged, 100,000 of them by default. Text
// with few repeats (a base64 blob) fills that cache, and then each new piece first walks past
// the entries it evicted: counting slowed from about 1.5 to 8 µs a character as the cache
// filled. 5,000 pieces keep prose and code as fast and novel text steady (bench/README.md),
// and bound what the cache holds.
export const MERGE_CACHE_PIECES = 5_000;
setMergeCacheSize(MERGE_CACHE_PIECES);

/** Texts longer than this are counted by a byte bound instead: the bound is never below the true count. */
const exactCountLimit = 2_000_000;

/** Every token covers at least one UTF-8 byte, so the byte length bounds the count from above. */
function byteBound(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

// A coding agent sends the same system prompt, tool definitions and conversation so far on every
// call of a session, each call adding a turn: about 40,000 tokens, of which only the last turn is
// new. Counting them again cost 6-8 ms a call (bench/README.md, Agent-sized prompts), so the count
// of each long text is remembered, bounded by the characters the cache holds. Short texts are
// cheaper to count than to look up.
export const REMEMBERED_TEXT_MIN_CHARS = 512;
const rememberedCounts = new LRUCache<string, number>({
  maxSize: 4_000_000,
  maxEntrySize: 1_000_000,
  sizeCalculation: (_count, text) => text.length,
});

/**
 * Exact o200k count, except that a piece the tokenizer cannot split further (a run of letters,
 * punctuation or whitespace) longer than PIECE_LIMIT counts as its UTF-8 length: merging one
 * piece takes time quadratic in its length, and the bound keeps counting linear.
 */
export function countText(text: string): number {
  if (text.length < REMEMBERED_TEXT_MIN_CHARS) return countUncached(text);
  const known = rememberedCounts.get(text);
  if (known !== undefined) return known;
  const tokens = countUncached(text);
  rememberedCounts.set(text, tokens);
  return tokens;
}

function countUncached(text: string): number {
  if (text.length === 0) return 0;
  if (text.length > exactCountLimit) return byteBound(text);
  if (!mayHoldLongPiece(text)) return countTokens(text, noSpecial);
  let tokens = 0;
  for (const s of segments(text)) {
    const part = text.slice(s.start, s.end);
    tokens += s.long ? byteBound(part) : countTokens(part, noSpecial);
  }
  return tokens;
}

/** How many texts' counts are remembered (for tests and diagnostics). */
export function rememberedTextCounts(): number {
  return rememberedCounts.size;
}
