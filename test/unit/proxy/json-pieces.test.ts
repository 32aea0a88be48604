import assert from 'node:assert/strict';
import fc from 'fast-check';
import { nestsDeeperThan, parseJsonBody, PIECEWISE_PARSE_BYTES } from '../../../src/proxy/body';
import { jsonStringEnd } from '../../../src/pipeline/json-text';
import { parseJsonPieces } from '../../../src/proxy/json-pieces';

// A large body is parsed member by member rather than as one string (json-pieces.ts). It must
// accept exactly what JSON.parse accepts and give the same value.

/** JSON.parse's outcome for a text: its value, or that it threw. */
function outcome(parse: () => unknown): { value: unknown } | { threw: true } {
  try {
    return { value: parse() };
  } catch (err) {
    assert.ok(err instanceof SyntaxError, `a SyntaxError, not ${String(err)}`);
    return { threw: true };
  }
}

const texts = fc
  .tuple(fc.jsonValue({ maxDepth: 5 }), fc.constantFrom(undefined, 0, 1, 2, '\t'))
  .map(([value, indent]) => JSON.stringify(value, null, indent) ?? 'null');

describe('parsing a large JSON body piece by piece', () => {
  it('gives what JSON.parse gives for any JSON text, split at any size', () => {
    fc.assert(
      fc.property(texts, fc.constantFrom(1, 2, 8, 64), fc.constantFrom('', ' ', '\n\t '), (text, pieceBytes, pad) => {
        const body = Buffer.from(`${pad}${text}${pad}`);
        assert.deepEqual(parseJsonPieces(body, pieceBytes), JSON.parse(body.toString()));
      }),
      { numRuns: 400 },
    );
  });

  it('refuses exactly what JSON.parse refuses: a byte changed, dropped or added anywhere', () => {
    const glue = [',', ':', '{', '}', '[', ']', '"', ' ', 'x', '1', '\\', '\u00e9'];
    fc.assert(
      fc.property(texts, fc.nat(), fc.constantFrom('replace', 'drop', 'insert'), fc.constantFrom(...glue), fc.constantFrom(1, 4, 32), (text, at, edit, ch, pieceBytes) => {
        const i = text.length ? at % text.length : 0;
        const edited = edit === 'drop' ? text.slice(0, i) + text.slice(i + 1) : text.slice(0, i) + ch + text.slice(edit === 'replace' ? i + 1 : i);
        const body = Buffer.from(edited);
        assert.deepEqual(outcome(() => parseJsonPieces(body, pieceBytes)), outcome(() => JSON.parse(edited)), edited);
      }),
      { numRuns: 1500 },
    );
  });

  it('keeps a "__proto__" member as data, never as the prototype, and the last of duplicate members', () => {
    const text = `{"__proto__": {"polluted": true}, "a": [1, {"__proto__": 2}], "a": "last", "b": ${JSON.stringify('x'.repeat(40))}}`;
    const parsed = parseJsonPieces(Buffer.from(text), 4) as Record<string, unknown>;
    assert.deepEqual(parsed, JSON.parse(text));
    assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(Object.keys(parsed), ['__proto__', 'a', 'b']);
  });

  it('reads an agent-sized body (members, tools, long texts, multi-byte characters) as JSON.parse does', () => {
    const tools = Array.from({ length: 24 }, (_, i) => ({ name: `Tool${i}`, description: `Déjà vu ${'é'.repeat(3000)} ${i}`, input_schema: { type: 'object', properties: { p: { type: 'string' } } } }));
    const body = Buffer.from(JSON.stringify({ model: 'm', system: [{ type: 'text', text: 'ü'.repeat(70_000) }], tools, messages: [{ role: 'user', content: 'hi' }] }));
    assert.ok(body.length > 2 * PIECEWISE_PARSE_BYTES);
    assert.deepEqual(parseJsonBody(body), JSON.parse(body.toString()));
  });

  it('reports an invalid large body with JSON.parse\'s own message', () => {
    const text = `{"messages": [${'"x",'.repeat(30_000)}]}`;
    assert.throws(() => parseJsonBody(Buffer.from(text)), (err: Error) => {
      let expected = '';
      try {
        JSON.parse(text);
      } catch (e) {
        expected = (e as Error).message;
      }
      return err.message.endsWith(expected);
    });
  });
});

describe('skipping a JSON string by its closing quote', () => {
  it('steps over escaped quotes after odd runs of backslashes, and stops after even runs', () => {
    for (const value of ['', 'plain', 'a"b', 'a\\', 'a\\"b', '\\\\"', '"]}{[', 'x'.repeat(5000) + '\\"' + 'y']) {
      const text = `${JSON.stringify(value)},"next"`;
      const b = Buffer.from(text);
      assert.equal(jsonStringEnd(b, 0), JSON.stringify(value).length, text);
    }
    assert.equal(jsonStringEnd(Buffer.from('"never closed\\"'), 0), -1);
    assert.equal(jsonStringEnd(Buffer.from('"ab"'), 0, 3), -1, 'a quote past the end does not count');
  });

  it('counts no bracket inside a string when checking a body\'s depth', () => {
    const inString = JSON.stringify({ text: `\\"${'['.repeat(300)}` });
    assert.equal(nestsDeeperThan(Buffer.from(inString), 256), false);
    assert.equal(nestsDeeperThan(Buffer.from(`${'['.repeat(257)}${']'.repeat(257)}`), 256), true);
  });
});
