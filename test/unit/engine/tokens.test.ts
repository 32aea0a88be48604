import assert from 'node:assert/strict';
import fc from 'fast-check';
import { clearMergeCache, countTokens, encode } from 'gpt-tokenizer/encoding/o200k_base';
import { MalformedRequestError } from '../../../src/contracts/call';
import { countText, REMEMBERED_TEXT_MIN_CHARS, rememberedTextCounts } from '../../../src/engine/tokens/count';
import { ANTHROPIC_FACTOR } from '../../../src/providers/anthropic/count';
import { imageSizeFromBase64 } from '../../../src/engine/tokens/image-size';
import { anthropicImageTokens } from '../../../src/providers/anthropic/images';
import { openaiImageTokens } from '../../../src/providers/openai/images';
import { describeAnthropicCall } from '../../../src/providers/anthropic/request';
import { describeOpenAICall } from '../../../src/providers/openai/request';
import { minifiedJs, prose, run } from '../../helpers/texts';

/** A minimal PNG header of the given size: the counter only reads the IHDR chunk. */
function pngBase64(width: number, height: number): string {
  const b = Buffer.alloc(33);
  b.writeUInt32BE(0x89504e47, 0);
  b.writeUInt32BE(0x0d0a1a0a, 4);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12, 'latin1');
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  return b.toString('base64');
}

describe('token counting before the call', () => {
  it('remembers the count of a long text, so an agent\'s repeated prompt is counted once, and never mixes up texts', () => {
    const base = prose(4_000, 41);
    const before = rememberedTextCounts();
    assert.equal(countText(base), countTokens(base));
    assert.equal(rememberedTextCounts(), before + 1);
    assert.equal(countText(base), countTokens(base));
    assert.equal(rememberedTextCounts(), before + 1, 'the same text is looked up, not stored again');
    // Texts of the same length that differ in one place (at the start, the middle, the end) each count as themselves.
    fc.assert(
      fc.property(fc.nat({ max: base.length - 1 }), fc.constantFrom('.', ' 42 ', 'Zq', '\n\n'), (at, insert) => {
        const edited = base.slice(0, at) + insert + base.slice(at + insert.length);
        assert.equal(countText(edited), countTokens(edited));
      }),
      { numRuns: 60 },
    );
    const short = 'x'.repeat(REMEMBERED_TEXT_MIN_CHARS - 1);
    const size = rememberedTextCounts();
    countText(short);
    assert.equal(rememberedTextCounts(), size, 'short texts are counted, not remembered');
  });

  it('counts text with the o200k encoding, special-token text included', () => {
    const text = 'Hello, world! <|endoftext|> is only text here.';
    assert.equal(countText(text), encode(text, { disallowedSpecial: new Set() }).length);
    assert.equal(countText(''), 0);
  });

  it('counts a chat request as its messages plus the documented per-message framing', () => {
    const call = describeOpenAICall('openai', '/v1/chat/completions', 'POST', {
      model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'What is 2+2?' }], max_tokens: 50, n: 2,
    });
    assert.equal(call.inputTokens, 3 + (3 + countText('Be brief.')) + (3 + countText('What is 2+2?')));
    assert.equal(call.requestedOutputTokens, 50);
    assert.equal(call.choices, 2);
    assert.equal(call.kind, 'generate');
  });

  it('holds the largest of every output field a request carries, and counts tools', () => {
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }];
    const call = describeOpenAICall('openai', '/v1/chat/completions', 'POST', { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], tools, max_tokens: 9, max_completion_tokens: 7 });
    assert.equal(call.requestedOutputTokens, 9, 'a server may honour either field, so the larger is held');
    const both = describeOpenAICall('openai', '/v1/chat/completions', 'POST', { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], max_completion_tokens: 1, max_tokens: 100_000, max_output_tokens: 50 });
    assert.equal(both.requestedOutputTokens, 100_000);
    const best = describeOpenAICall('openai', '/v1/completions', 'POST', { model: 'gpt-3.5-turbo-instruct', prompt: 'x', max_tokens: 10, n: 2, best_of: 5 });
    assert.equal(best.choices, 5, 'best_of completions are generated and billed upstream');
    assert.ok(call.inputTokens >= 3 + 3 + 1 + countText(JSON.stringify(tools)));
  });

  it('counts OpenAI images by their tiles, from the data URL\'s own dimensions', () => {
    assert.deepEqual(imageSizeFromBase64(pngBase64(1024, 1024)), { width: 1024, height: 1024 });
    // 1024x1024 scales to 768x768: four 512-px tiles.
    assert.equal(openaiImageTokens('gpt-4o', { width: 1024, height: 1024 }, 'high'), 85 + 170 * 4);
    assert.equal(openaiImageTokens('gpt-4o', { width: 1024, height: 1024 }, 'low'), 85);
    assert.equal(openaiImageTokens('gpt-4o', undefined, 'auto'), 85 + 170 * 8, 'unknown size holds the most tiles possible');
    const call = describeOpenAICall('openai', '/v1/chat/completions', 'POST', {
      model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${pngBase64(1024, 1024)}` } }] }],
    });
    assert.equal(call.inputTokens, 3 + 3 + 85 + 170 * 4);
  });

  it('counts Anthropic images as width x height / 750 after scaling, at most 1600', () => {
    assert.equal(anthropicImageTokens({ width: 750, height: 750 }), 750);
    assert.equal(anthropicImageTokens({ width: 4000, height: 4000 }), 1600);
    assert.equal(anthropicImageTokens(undefined), 1600);
  });

  it('over-counts Anthropic text by the stated factor and requires max_tokens', () => {
    const text = 'The quick brown fox jumps over the lazy dog.';
    const call = describeAnthropicCall('anthropic', '/v1/messages', 'POST', { model: 'claude-haiku-4-5', max_tokens: 100, system: 'sys', messages: [{ role: 'user', content: text }] });
    assert.ok(call.inputTokens >= Math.ceil(countText(text) * ANTHROPIC_FACTOR));
    assert.equal(call.requestedOutputTokens, 100);
    assert.throws(() => describeAnthropicCall('anthropic', '/v1/messages', 'POST', { model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'x' }] }), MalformedRequestError);
  });

  it('treats count_tokens as free and GET routes as passthrough', () => {
    const count = describeAnthropicCall('anthropic', '/v1/messages/count_tokens', 'POST', { model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(count.kind, 'count');
    assert.equal(describeOpenAICall('openai', '/v1/models', 'GET', undefined).kind, 'passthrough');
  });

  it('counts embeddings and the Responses API', () => {
    const e = describeOpenAICall('openai', '/v1/embeddings', 'POST', { model: 'text-embedding-3-small', input: ['a b', 'c'] });
    assert.equal(e.inputTokens, countText('a b') + countText('c'));
    assert.equal(e.kind, 'embed');
    const r = describeOpenAICall('openai', '/v1/responses', 'POST', { model: 'gpt-4o-mini', instructions: 'hi', input: 'hello there', max_output_tokens: 20 });
    assert.equal(r.requestedOutputTokens, 20);
    assert.ok(r.inputTokens >= countText('hi') + countText('hello there'));
  });

  it('rejects malformed bodies with a clear message', () => {
    assert.throws(() => describeOpenAICall('openai', '/v1/chat/completions', 'POST', []), /must be a JSON object/);
    assert.throws(() => describeOpenAICall('openai', '/v1/chat/completions', 'POST', { messages: [{ role: 'user', content: 'x' }] }), /"model" is required/);
    assert.throws(() => describeOpenAICall('openai', '/v1/chat/completions', 'POST', { model: 'gpt-4o', messages: [] }), /"messages" must be a non-empty array/);
    assert.throws(() => describeOpenAICall('openai', '/v1/chat/completions', 'POST', { model: 'gpt-4o', messages: [{ content: 'x' }], max_tokens: -1 }), /"max_tokens" must be a non-negative integer/);
  });

  it('stays exact for ordinary text: prose, code, minified code, URLs', () => {
    const texts = [prose(20_000), minifiedJs(20_000), `${'    if (x) {\n        return y;\n    }\n'.repeat(200)}`, `see https://example.com/${'a1b2/'.repeat(40)}?q=1 and ${'-'.repeat(120)}`];
    for (const t of texts) assert.equal(countText(t), countTokens(t, { disallowedSpecial: new Set() }), t.slice(0, 40));
  });

  it('never counts below the true o200k count, long runs included (fast-check)', () => {
    const chunk = fc.oneof(
      fc.constantFrom('word ', 'Hello, ', '  ', '\n', '12345', 'é', '名', '/', "'s ", '\u00a0', '--', '😀'),
      fc.tuple(fc.constantFrom('é', 'a', 'A', '-', ' ', '\n', '/\n', '\u00a0 ', '😀', 'é\u0301'), fc.integer({ min: 200, max: 400 })).map(([unit, n]) => unit.repeat(n)),
    );
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 12 }), (chunks) => {
        const text = chunks.join('');
        assert.ok(countText(text) >= countTokens(text, { disallowedSpecial: new Set() }), JSON.stringify(text.slice(0, 80)));
      }),
      { numRuns: 300 },
    );
  });

  // Linear counting answers a 120 KB run with no break at once; a quadratic merge would not finish
  // within the test's time (what each costs against prose is measured in bench/engine/count.ts).
  it('counts a 120 KB run with no break (60,000 \'é\', one word, \'a.\' ...) as whole tokens of its bytes', () => {
    const size = 120_000;
    const worst: Record<string, string> = {
      'é run': run('é', size / 2), 'one word': run('x', size), 'capitals': run('A', size), "'a.' run": run('a.', size), 'spaces': run(' ', size),
      'dashes': run('-', size), 'slashes and breaks': `!${run('/\n', size)}`, 'emoji': run('😀', size),
    };
    for (const [name, t] of Object.entries(worst)) {
      clearMergeCache();
      const n = countText(t);
      assert.ok(Number.isInteger(n) && n > 0 && n <= Buffer.byteLength(t), `${name}: ${n} tokens for ${Buffer.byteLength(t)} bytes`);
      assert.equal(countText(t), n, `${name}: the same count again, from the merge cache`);
    }
  });
});
