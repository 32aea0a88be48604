import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KeyPattern, KeyRedactor, MIN_KEY_BYTES, redactBytes, redactHeaderText } from '../../../src/proxy/key-redactor';
import { holdsKey, spellKey } from '../../helpers/key-spellings';
import type { Spelling } from '../../helpers/key-spellings';

const keyCharArb = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-');
const realisticKeyArb = fc.array(keyCharArb, { minLength: MIN_KEY_BYTES, maxLength: 64 }).map((cs) => cs.join(''));
// Keys with characters that have short escapes, need escaping in JSON or span several bytes.
const oddKeyArb = fc.array(fc.oneof(keyCharArb, fc.constantFrom('/', '"', '\\', '%', '\n', 'é', '€', '😀')), { minLength: MIN_KEY_BYTES, maxLength: 24 }).map((cs) => cs.join(''));
const spellingArb = fc.record({ how: fc.array(fc.constantFrom<Spelling>('literal', 'literal', 'json', 'percent', 'short'), { minLength: 1 }), upper: fc.array(fc.boolean(), { minLength: 1 }) });
const spelled = (key: string, s: { how: readonly Spelling[]; upper: readonly boolean[] }): string => spellKey(key, s.how, s.upper);

/** Feeds `bytes` in pieces cut at `cuts` (fractions of its length) and returns everything sent. */
function stream(pattern: KeyPattern, bytes: Buffer, cuts: readonly number[]): { out: Buffer } {
  const at = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b);
  const redactor = new KeyRedactor(pattern);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const to of [...at, bytes.length]) {
    pieces.push(redactor.push(bytes.subarray(from, to)));
    from = to;
  }
  pieces.push(redactor.end());
  return { out: Buffer.concat(pieces) };
}
const cutsArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 });

describe('key redactor (fast-check)', () => {
  it('leaves no spelling of the key in the output, however it is escaped and however the stream is cut', () => {
    fc.assert(
      fc.property(fc.oneof(realisticKeyArb, oddKeyArb), fc.array(fc.tuple(fc.string({ unit: 'binary', maxLength: 40 }), spellingArb), { minLength: 1, maxLength: 4 }), fc.string({ maxLength: 40 }), cutsArb, (key, parts, tail, cuts) => {
        const input = Buffer.from(parts.map(([filler, s]) => filler + spelled(key, s)).join('') + tail, 'utf8');
        const pattern = KeyPattern.of([key])!;
        const { out } = stream(pattern, input, cuts);
        assert.ok(!holdsKey(key, out), `a spelling of the key survived: ${JSON.stringify(out.toString('latin1'))}`);
        assert.ok(out.includes('[redacted]'));
        // Where the stream is cut changes nothing.
        assert.deepEqual(out, redactBytes(pattern, input));
      }),
      { numRuns: 120 },
    );
  });

  it('replaces exactly each occurrence with [redacted] and keeps every other byte', () => {
    const fillerArb = fc.array(fc.constantFrom(...' .,:;!?{}[]()\n\t"\'=&+*#@~'), { maxLength: 30 }).map((cs) => cs.join(''));
    fc.assert(
      fc.property(realisticKeyArb, fc.array(fc.tuple(fillerArb, spellingArb), { minLength: 1, maxLength: 4 }), fillerArb, cutsArb, (key, parts, tail, cuts) => {
        const input = Buffer.from(parts.map(([filler, s]) => filler + spelled(key, s)).join('') + tail);
        const expected = parts.map(([filler]) => `${filler}[redacted]`).join('') + tail;
        assert.equal(stream(KeyPattern.of([key])!, input, cuts).out.toString(), expected);
      }),
      { numRuns: 300 },
    );
  });

  it('passes a body without the key through unchanged, byte for byte', () => {
    fc.assert(
      fc.property(fc.oneof(realisticKeyArb, oddKeyArb), fc.uint8Array({ maxLength: 600 }), cutsArb, (key, bytes, cuts) => {
        const input = Buffer.from(bytes);
        fc.pre(!holdsKey(key, input));
        assert.deepEqual(stream(KeyPattern.of([key])!, input, cuts).out, input);
      }),
      { numRuns: 300 },
    );
  });

  it('holds back only what could still become the key: never more than one spelling, nothing after an event ends', () => {
    fc.assert(
      fc.property(realisticKeyArb, fc.array(fc.tuple(fc.string({ maxLength: 30 }), fc.option(spellingArb), fc.nat()), { minLength: 1, maxLength: 6 }), (key, events) => {
        const pattern = KeyPattern.of([key])!;
        const redactor = new KeyRedactor(pattern);
        // The longest spelling of this key: every character as a \u escape.
        const longest = [...key].length * 6;
        for (const [text, s, cut] of events) {
          // An event carrying text, perhaps with (part of) the key, cut into two writes anywhere.
          const event = Buffer.from(`data: {"text":${JSON.stringify(text + (s ? spelled(key, s) : ''))}}\n\n`);
          const split = cut % (event.length + 1);
          const first = redactor.push(event.subarray(0, split));
          assert.ok(redactor.heldBytes < longest, `held ${redactor.heldBytes} bytes`);
          const second = redactor.push(event.subarray(split));
          // The event's last bytes cannot be part of the key, so the whole event has gone out.
          assert.equal(redactor.heldBytes, 0);
          assert.ok(Buffer.concat([first, second]).toString().endsWith('}\n\n'));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('cuts the key out of a header text wherever it sits, as it does out of a body', () => {
    fc.assert(
      fc.property(realisticKeyArb, fc.string({ maxLength: 30 }), spellingArb, fc.string({ maxLength: 30 }), (key, before, s, after) => {
        const pattern = KeyPattern.of([key])!;
        const text = Buffer.from(before + spelled(key, s) + after, 'utf8').toString('latin1');
        const out = redactHeaderText(pattern, text);
        assert.ok(out !== undefined && !holdsKey(key, Buffer.from(out, 'latin1')), String(out));
        assert.equal(out, redactBytes(pattern, Buffer.from(text, 'latin1')).toString('latin1'));
      }),
      { numRuns: 200 },
    );
  });

  it('finds several keys at once, each in its own spellings', () => {
    fc.assert(
      fc.property(realisticKeyArb, realisticKeyArb, spellingArb, spellingArb, cutsArb, (a, b, sa, sb, cuts) => {
        const input = Buffer.from(`first ${spelled(a, sa)} then ${spelled(b, sb)} done`);
        const { out } = stream(KeyPattern.of([a, b])!, input, cuts);
        assert.ok(!holdsKey(a, out) && !holdsKey(b, out), out.toString());
        assert.ok(out.toString().startsWith('first ') && out.toString().endsWith(' done'));
      }),
      { numRuns: 200 },
    );
  });
});

describe('key redactor', () => {
  const key = ['sk', 'unit', 'Qx7Lm2Np9Rt4Vw8Yz'].join('-');
  const pattern = KeyPattern.of([key])!;

  it('cuts out a key written with JSON escapes in mixed case and literal characters', () => {
    // s, k-unit-, Q, x7, L, m, the rest: escapes with lower- and upper-case hex between literal runs.
    const escaped = `\\u0073${key.slice(1, 8)}\\u0051${key.slice(9, 11)}\\u004c\\u006D${key.slice(13)}`;
    assert.equal(JSON.parse(`"${escaped}"`), key);
    const text = `{"error":"bad key ${escaped}"}`;
    assert.equal(redactBytes(pattern, Buffer.from(text)).toString(), '{"error":"bad key [redacted]"}');
  });

  it('cuts a percent-encoded key out of a header value and leaves other values alone', () => {
    const location = `https://example.test/retry?key=%73%6B${encodeURIComponent(key.slice(2))}`;
    assert.equal(redactHeaderText(pattern, location), 'https://example.test/retry?key=[redacted]');
    assert.equal(redactHeaderText(pattern, 'application/json'), undefined);
  });

  it('matches a header name without regard to case, since names arrive lower-cased', () => {
    const names = KeyPattern.of([key], true)!;
    assert.equal(redactHeaderText(names, `x-echo-${key.toLowerCase()}`), 'x-echo-[redacted]');
    assert.equal(redactHeaderText(pattern, `x-echo-${key.toLowerCase()}`), undefined);
  });

  it('ignores values too short to be a key', () => {
    assert.equal(KeyPattern.of(['short', '']), undefined);
  });

  it('keeps a partial match for the next chunk and lets it go when the stream ends without the rest', () => {
    const redactor = new KeyRedactor(pattern);
    assert.equal(redactor.push(Buffer.from(`data: ${key.slice(0, 6)}`)).toString(), 'data: ');
    assert.equal(redactor.heldBytes, 6);
    assert.equal(redactor.end().toString(), key.slice(0, 6));
  });
});
