import assert from 'node:assert/strict';
import fc from 'fast-check';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { O200K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/encodingParams/constants';
import { mayHoldLongPiece, PIECE_LIMIT, segments } from '../../../src/engine/tokens/pieces';

const noSpecial = { disallowedSpecial: new Set<string>() };
const splitPattern = new RegExp(O200K_TOKEN_SPLIT_REGEX.source, 'gu');
/** The tokenizer's own pieces of a text. */
const pieces = (t: string): { start: number; end: number }[] => [...t.matchAll(splitPattern)].map((m) => ({ start: m.index, end: m.index + m[0].length }));
const exact = (t: string): number => countTokens(t, noSpecial);

/** Characters from every branch of the o200k pattern: cases, marks, digits, punctuation, slash, breaks, spaces. */
const alphabet = ['a', 'b', 'Z', 'é', 'e\u0301', '名', '1', '7', '.', '-', '*', "'", 's', 'l', '/', '\n', '\r', ' ', '\t', '\u00a0', '\u3000', '😀', '@'];
const textArb = fc.array(fc.constantFrom(...alphabet), { maxLength: 120 }).map((cs) => cs.join(''));

describe('o200k pieces: where counting may bound a piece instead of merging it', () => {
  it('keeps exact counts: short segments on their own plus long segments\' pieces in place add up to the text\'s count (fast-check)', () => {
    fc.assert(
      fc.property(textArb, fc.integer({ min: 1, max: 8 }), (text, limit) => {
        const parts = segments(text, limit);
        assert.equal(parts.map((s) => text.slice(s.start, s.end)).join(''), text, 'the segments tile the text');
        const inPlace = pieces(text);
        const count = parts.reduce((n, s) => {
          if (!s.long) return n + exact(text.slice(s.start, s.end));
          return n + inPlace.filter((p) => p.start >= s.start && p.end <= s.end).reduce((m, p) => m + exact(text.slice(p.start, p.end)), 0);
        }, 0);
        assert.equal(count, exact(text));
      }),
      { numRuns: 2_000 },
    );
  });

  it('gives short segments that split on their own exactly as in place (fast-check)', () => {
    fc.assert(
      fc.property(textArb, fc.integer({ min: 1, max: 8 }), (text, limit) => {
        const inPlace = pieces(text);
        for (const s of segments(text, limit)) {
          const part = text.slice(s.start, s.end);
          const here = inPlace.filter((p) => p.start >= s.start && p.end <= s.end).map((p) => text.slice(p.start, p.end));
          assert.equal(here.join(''), part, 'segments start and end on piece boundaries');
          if (s.long) {
            assert.ok(here.at(-1)!.length > limit, `ends with a long piece: ${JSON.stringify(part)}`);
            assert.ok(here.slice(0, -1).every((p) => p.trim() === ''), `only whitespace before it: ${JSON.stringify(part)}`);
          } else {
            assert.deepEqual(pieces(part).map((p) => part.slice(p.start, p.end)), here, `the same pieces alone: ${JSON.stringify(part)}`);
            assert.ok(here.every((p) => p.length <= limit));
          }
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('never says a text holds no long piece when it holds one (fast-check)', () => {
    const runsArb = fc.array(fc.tuple(fc.constantFrom(...alphabet), fc.integer({ min: 1, max: 30 })), { maxLength: 12 }).map((rs) => rs.map(([c, n]) => c.repeat(n)).join(''));
    fc.assert(
      fc.property(fc.oneof(textArb, runsArb), fc.integer({ min: 1, max: 40 }), (text, limit) => {
        if (segments(text, limit).some((s) => s.long)) assert.ok(mayHoldLongPiece(text, limit), JSON.stringify(text));
      }),
      { numRuns: 3_000 },
    );
  });

  it('finds the long runs each branch of the pattern makes: letters, punctuation, slashes and breaks, whitespace', () => {
    const over = PIECE_LIMIT + 1;
    for (const run of ['é'.repeat(over), 'A'.repeat(over), '-'.repeat(over), '!' + '/\n'.repeat(over), ' '.repeat(over), '\u00a0 '.repeat(over), '\n'.repeat(over), '😀'.repeat(over)]) {
      const text = `before ${run} after`;
      assert.ok(mayHoldLongPiece(text), JSON.stringify(run.slice(0, 6)));
      const long = segments(text).filter((s) => s.long);
      assert.equal(long.length, 1, JSON.stringify(run.slice(0, 6)));
      assert.ok(long[0]!.end - long[0]!.start >= run.length - 1);
      assert.ok(long[0]!.start >= 'before'.length && long[0]!.end <= text.length - 'after'.length);
    }
  });

  it('lets ordinary text, and runs that alternate letters with punctuation, through the quick check, so they are counted in one call', () => {
    const prose = 'The committee reviewed the quarterly budget and approved the hiring plan. '.repeat(40) + 'https://example.com/a/b/c?x=1\n    indented();\n';
    for (const text of [prose, 'a.'.repeat(1_000), 'a@b.'.repeat(500), Buffer.alloc(3_000, 'tollgate\u00ff').toString('base64')]) {
      assert.ok(!mayHoldLongPiece(text), text.slice(0, 20));
      assert.deepEqual(segments(text), [{ start: 0, end: text.length, long: false }]);
    }
  });
});
