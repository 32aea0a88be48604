import assert from 'node:assert/strict';
import fc from 'fast-check';
import { anthropicAdapter } from '../../../src/providers/anthropic/adapter';
import { openaiAdapter } from '../../../src/providers/openai/adapter';
import type { ProviderAdapter } from '../../../src/providers/adapter';
import { rawBody, renderBody, topLevelMembers } from '../../../src/pipeline/request-body';

describe('request bodies forwarded as bytes', () => {
  it('finds each top-level member of a JSON object, whatever its spacing and strings hold', () => {
    const text = ' {\n "a" : 1 ,"b\\"}":{"x":"}],\\"{"},\t"c":[1,[2,{"d":"]"}]] , "e":null,"a":"again"}  ';
    const b = Buffer.from(text);
    const members = topLevelMembers(b);
    assert.deepEqual(members.map((m) => m.key), ['a', 'b"}', 'c', 'e', 'a']);
    assert.deepEqual(members.map((m) => b.toString('utf8', m.start, m.end)), ['"a" : 1', '"b\\"}":{"x":"}],\\"{"}', '"c":[1,[2,{"d":"]"}]]', '"e":null', '"a":"again"']);
    assert.deepEqual(topLevelMembers(Buffer.from('{}')), []);
  });

  function property(adapter: ProviderAdapter, route: string): fc.IAsyncPropertyWithHooks<[Record<string, unknown>, number | undefined, string | undefined, boolean]> {
    const body = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }).chain((extra) =>
      fc.record({ model: fc.constantFrom('gpt-4o-mini', 'claude-haiku-4-5'), max_tokens: fc.integer({ min: 1, max: 10_000 }), user: fc.option(fc.string({ maxLength: 6 }), { nil: undefined }), stream_options: fc.option(fc.record({ include_usage: fc.boolean() }), { nil: undefined }), metadata: fc.option(fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 })), { nil: undefined }) })
        .map((core) => ({ ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [`x_${k}`, v])), ...Object.fromEntries(Object.entries(core).filter(([, v]) => v !== undefined)) })),
    );
    return fc.asyncProperty(body, fc.option(fc.integer({ min: 1, max: 5000 }), { nil: undefined }), fc.option(fc.constantFrom('gpt-4o', 'claude-sonnet-4-5'), { nil: undefined }), fc.boolean(), async (json, outputCap, model, stream) => {
      const call = { ...adapter.describe('p', route, 'POST', { ...json, messages: [{ role: 'user', content: 'x' }] }), stream };
      const changes = { model, outputCap, pseudonym: 'u-123' };
      const parsed = renderBody({ kind: 'parsed', json }, adapter, call, changes);
      const raw = renderBody(rawBody(Buffer.from(JSON.stringify(json, null, 1)), json, adapter.rewriteFields), adapter, call, changes);
      assert.deepEqual(JSON.parse(Buffer.concat(raw.parts).toString('utf8')), JSON.parse(Buffer.concat(parsed.parts).toString('utf8')));
      assert.equal(raw.strippedUsage, parsed.strippedUsage);
    });
  }

  it('sends the same body, spliced from its bytes, as when parsed and serialised whole (openai)', async () => {
    await fc.assert(property(openaiAdapter, '/v1/chat/completions'), { numRuns: 200 });
  });

  it('sends the same body, spliced from its bytes, as when parsed and serialised whole (anthropic)', async () => {
    await fc.assert(property(anthropicAdapter, '/v1/messages'), { numRuns: 200 });
  });

  it('replaces every copy of a rewritten member, so a duplicate key cannot smuggle the old value past the rewrite', () => {
    const text = '{"max_tokens":100000,"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"max_tokens":100000}';
    const json = JSON.parse(text) as Record<string, unknown>;
    const call = openaiAdapter.describe('p', '/v1/chat/completions', 'POST', json);
    const out = renderBody(rawBody(Buffer.from(text), json, openaiAdapter.rewriteFields), openaiAdapter, call, { outputCap: 4096 });
    const sent = Buffer.concat(out.parts).toString('utf8');
    assert.equal((sent.match(/max_tokens/g) ?? []).length, 1);
    assert.equal((JSON.parse(sent) as { max_tokens: number }).max_tokens, 4096);
  });
});
