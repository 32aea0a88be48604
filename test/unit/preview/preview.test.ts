import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { countText } from '../../../src/engine/tokens/count';
import type { StateSnapshot } from '../../../src/contracts/admin';
import { PreviewCache } from '../../../src/preview/document-preview';
import type { PreviewContext } from '../../../src/preview/estimate';
import { previewCall } from '../../../src/preview/estimate';
import { findJsCalls } from '../../../src/preview/js-finder';
import { findPythonCalls } from '../../../src/preview/python-finder';
import { NOW, referencePolicy } from '../../helpers/policy';

const fixture = (name: string): string => readFileSync(path.join(__dirname, '..', '..', 'fixtures', 'preview', name), 'utf8');
const policy = referencePolicy();
const alice: PreviewContext = { policy, identity: { user: 'alice@acme.dev', agent: 'default', session: 's1', roles: ['marketing-analysts'], issuer: 'tollgate' }, now: NOW };
const bob: PreviewContext = { policy, identity: { user: 'bob@acme.dev', agent: 'default', session: 's2', roles: ['ml-engineers'], issuer: 'tollgate' }, now: NOW };

function snapshot(accumulators: { rule: string; key: string; used: number; limit: number; unit: 'requests' | 'tokens' | 'usd' }[]): StateSnapshot {
  return {
    time: new Date(NOW).toISOString(),
    health: { ok: true, version: '0', policy: { name: policy.name, hash: policy.hash, source: 'x' }, ledger: { ok: true }, shadow: false },
    accumulators: accumulators.map((a) => ({ ...a, kind: a.unit === 'usd' ? 'budget' : 'limit' })),
    recent: [], spend: { byUser: [], byAgent: [], byModel: [], byDay: [] }, todayUsd: 0,
  };
}

/** chat: 3 tokens of reply priming and 3 per message, as the OpenAI adapter counts. */
const chatInput = (texts: string[], dynamic: number): number => 3 + 3 * Math.max(1, texts.length + dynamic) + texts.reduce((n, t) => n + countText(t), 0) + 500 * dynamic;

describe('preview: finding calls', () => {
  it('finds SDK calls in TypeScript with literal parts, constants, streaming and fan-out', async () => {
    const text = fixture('chat.ts');
    const calls = await findJsCalls(text, 'chat.ts');
    assert.equal(calls.length, 3);
    const [summarise, classify, walk] = calls;
    assert.equal(summarise!.model, 'gpt-4o', 'resolved through const MODEL');
    assert.equal(text.slice(summarise!.modelRange!.start, summarise!.modelRange!.end), "'gpt-4o'");
    assert.deepEqual(summarise!.prompt, [{ role: 'system', text: 'You are a terse assistant.' }, { role: 'user', text: 'Summarise this: ' }]);
    assert.equal(summarise!.dynamicParts, 1, 'the ${text} interpolation');
    assert.equal(summarise!.maxTokens, 300);
    assert.deepEqual(summarise!.fanOut, []);
    assert.deepEqual(classify!.fanOut.map((f) => f.kind), ['map', 'promise-all']);
    assert.equal(walk!.stream, true);
    assert.deepEqual(walk!.fanOut.map((f) => `${f.kind} ${f.label}`), ['recursion walk()']);
  });

  it('finds plain HTTP calls to provider paths in JavaScript, not look-alike SDKs', async () => {
    const calls = await findJsCalls(fixture('http.js'), 'http.js');
    assert.deepEqual(calls.map((c) => `${c.via} ${c.provider} ${c.route} ${c.model}`), [
      'http openai /v1/embeddings text-embedding-3-small',
      'http anthropic /v1/messages claude-sonnet-4-5',
    ]);
    assert.deepEqual(calls[0]!.fanOut.map((f) => f.kind), ['loop']);
    assert.deepEqual(calls[1]!.prompt, [{ role: 'system', text: 'Answer in one line.' }, { role: 'user', text: 'What is a token bucket?' }]);
  });

  it('finds Python calls, skipping strings and comments, with loops, comprehensions, gather and recursion', () => {
    const calls = findPythonCalls(fixture('batch.py'));
    assert.deepEqual(calls.map((c) => `${c.via} ${c.api} ${c.model}`), [
      'sdk chat gpt-4o-mini', 'sdk responses gpt-4o', 'sdk chat gpt-4o-mini', 'sdk embeddings text-embedding-3-small', 'http chat gpt-4o',
    ]);
    const [label, labelAll, gather, crawl] = calls;
    assert.deepEqual(label!.prompt, [{ role: 'system', text: 'You label support tickets. Answer with one word.' }, { role: 'user', text: 'Ticket: ' }]);
    assert.equal(label!.dynamicParts, 1);
    assert.equal(label!.maxTokens, 5);
    assert.deepEqual(label!.fanOut, []);
    assert.deepEqual(labelAll!.fanOut.map((f) => f.kind), ['loop']);
    assert.equal(labelAll!.maxTokens, 10);
    assert.deepEqual(gather!.fanOut.map((f) => f.kind), ['comprehension', 'gather']);
    assert.deepEqual(crawl!.fanOut.map((f) => f.kind), ['recursion']);
    assert.deepEqual(crawl!.prompt, [{ role: 'input', text: 'a fixed text' }]);
  });

  it('treats a Python call in the header of a loop as running once, and one in its inline body as repeated', () => {
    const calls = findPythonCalls('for r in client.chat.completions.create(model="m", messages=[]).choices: client.embeddings.create(model="e", input="x")\n');
    assert.deepEqual(calls.map((c) => c.fanOut.map((f) => f.kind).join(',')), ['', 'loop']);
  });
});

describe('preview: CodeLens content from the engine', () => {
  it('TS: an unentitled model gets a diagnostic and a quick fix to an entitled one', async () => {
    const text = fixture('chat.ts');
    const [summarise] = await findJsCalls(text, 'chat.ts');
    const p = await previewCall(summarise!, alice);
    assert.equal(p.entitled, false);
    assert.equal(p.alternative, 'gpt-4o-mini');
    assert.deepEqual(p.lens, ['Tollgate: gpt-4o · not entitled for alice@acme.dev (use gpt-4o-mini)']);
    assert.equal(p.diagnostics.length, 1);
    assert.equal(p.diagnostics[0]!.severity, 'error');
    assert.deepEqual(p.diagnostics[0]!.fix, { title: 'Use gpt-4o-mini (entitled for alice@acme.dev)', range: summarise!.modelRange, replacement: '"gpt-4o-mini"' });
    const forBob = await previewCall(summarise!, bob);
    assert.equal(forBob.entitled, true, 'ml-engineers may use any model');
    assert.equal(forBob.diagnostics.length, 0);
  });

  it('TS: a dynamic prompt in Promise.all(map) states its assumption, its cost and the burst it exhausts', async () => {
    const [, classify] = await findJsCalls(fixture('chat.ts'), 'chat.ts');
    const p = await previewCall(classify!, alice);
    const input = chatInput(['Classify the sentiment of this row.'], 1);
    assert.equal(p.inputTokens, input);
    assert.equal(p.outputTokens, 5);
    // gpt-4o-mini: $0.15 in, $0.60 out per million tokens.
    assert.ok(Math.abs(p.usd - (input * 0.15 + 5 * 0.6) / 1e6) < 1e-12);
    assert.deepEqual(p.assumptions, ['the prompt has 1 dynamic part, assumed 500 tokens each']);
    assert.equal(p.lens[0], `Tollgate: gpt-4o-mini · entitled · ≈$0.000081/call (${input} in + 5 out) · 20 fit now, then agent-burst refuses`);
    assert.equal(p.lens[1], 'Tollgate: ⚠ in a map callback (.map()): agent-burst (burst 20, 60/min) admits 20 at once, then paces to 60/min; calls sharing one trace stop at 50 (max_calls_per_trace)');
    assert.match(p.hover, /Assumptions: the prompt has 1 dynamic part, assumed 500 tokens each\./);
  });

  it('counts what the live snapshot has used: 15 of 20 burst used leaves 5', async () => {
    const [, classify] = await findJsCalls(fixture('chat.ts'), 'chat.ts');
    const p = await previewCall(classify!, { ...alice, snapshot: snapshot([{ rule: 'agent-burst', key: 'agent:alice@acme.dev/default', used: 15, limit: 20, unit: 'requests' }]) });
    assert.equal(p.capacity?.fits, 5);
    assert.equal(p.capacity?.rule, 'agent-burst');
    assert.match(p.lens[0]!, /· 5 fit now, then agent-burst refuses$/);
    assert.match(p.lens[1]!, /agent-burst \(burst 20, 60\/min\) admits 5 at once/);
  });

  it('names a budget that refuses first, and a downgrade budget that downgrades', async () => {
    const [, , walk] = await findJsCalls(fixture('chat.ts'), 'chat.ts');
    // One gpt-4o-mini call: 10 in + 1024 reserved out = $0.0006159; $0.001 left of team-monthly fits one.
    const tight = await previewCall(walk!, { ...bob, snapshot: snapshot([{ rule: 'team-monthly', key: 'role:ml-engineers', used: 499.999, limit: 500, unit: 'usd' }]) });
    assert.equal(tight.inputTokens, chatInput(['Describe this node.'], 0));
    assert.equal(tight.capacity?.fits, 1);
    assert.equal(tight.capacity?.rule, 'team-monthly');
    const [summarise] = await findJsCalls(fixture('chat.ts'), 'chat.ts');
    const spent = await previewCall(summarise!, { ...bob, snapshot: snapshot([{ rule: 'user-daily', key: 'user:bob@acme.dev', used: 5, limit: 5, unit: 'usd' }]) });
    assert.deepEqual(spent.capacity?.downgrade, { after: 0, rule: 'user-daily', to: 'gpt-4o-mini' });
    assert.equal(spent.capacity?.rule, 'agent-burst', 'downgraded calls still count against the burst');
    assert.match(spent.hover, /After 0 calls, `user-daily` downgrades to gpt-4o-mini/);
  });

  it('JS: an HTTP call in a loop to a model the policy does not price is flagged as unentitled without an alternative', async () => {
    const [embed] = await findJsCalls(fixture('http.js'), 'http.js');
    const p = await previewCall(embed!, alice);
    assert.equal(p.entitled, false);
    assert.equal(p.alternative, undefined);
    assert.equal(p.diagnostics[0]!.fix, undefined);
  });

  it('Python: loops, comprehensions and a prompt over the context cap', async () => {
    const calls = findPythonCalls(fixture('batch.py'));
    const label = await previewCall(calls[0]!, alice);
    const input = chatInput(['You label support tickets. Answer with one word.', 'Ticket: '], 0) + 500;
    assert.equal(label.inputTokens, input);
    assert.equal(label.lens.length, 1, 'no fan-out lens outside loops');
    const gathered = await previewCall(calls[2]!, alice);
    assert.deepEqual(gathered.assumptions, ['the prompt has 1 dynamic part, assumed 500 tokens each', "no max_tokens: the policy's reserve of 1024 output tokens is held"]);
    assert.equal(gathered.outputTokens, 1024);
    assert.match(gathered.lens[1]!, /^Tollgate: ⚠ in a comprehension/);
    const big = await previewCall(calls[0]!, { ...alice, assumedTokensPerDynamicPart: 110_000 });
    assert.equal(big.refusal?.kind, 'context');
    assert.equal(big.diagnostics[0]!.severity, 'error');
    assert.match(big.diagnostics[0]!.message, /over the context cap of 100000 for alice@acme.dev/);
    assert.match(big.lens[0]!, /refused: prompt ≈110,\d{3} tokens is over the context cap/);
  });

  it('says so when the model is not known statically', async () => {
    const [call] = await findJsCalls('for (const m of models) await openai.chat.completions.create({ model: pick(m), messages });', 'x.ts');
    const p = await previewCall(call!, alice);
    assert.deepEqual(p.lens, ['Tollgate: model not known statically; cost and limits cannot be previewed', 'Tollgate: in a loop: each iteration is one more call']);
  });
});

describe('preview: cost while typing', () => {
  it('parses a document version once, however often it is previewed; a file without calls is never parsed', async () => {
    // How fast a large file parses is measured by bench/, not asserted here: a shared machine's
    // speed is no behaviour of the product.
    const lines = Array.from({ length: 10_000 }, (_, i) => `export function f${i}(x: number): number { return x * ${i}; }`);
    lines.splice(5_000, 0, "await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });");
    const text = lines.join('\n');
    const cache = new PreviewCache();
    const doc = { uri: 'file:///big.ts', version: 1, languageId: 'typescript', fileName: 'big.ts', getText: (): string => text };
    await cache.calls(doc);
    cache.forget(doc.uri);
    assert.equal((await cache.calls(doc)).length, 1);
    for (let i = 0; i < 100; i++) await cache.previews(doc, alice, 'k');
    assert.equal(cache.parses, 2, 'one parse per version (and one after forget)');
    const plain = { ...doc, uri: 'file:///plain.ts', getText: (): string => 'export const x = 1;\n'.repeat(10_000) };
    assert.deepEqual(await cache.calls(plain), []);
  });

  it('drops a cancelled computation instead of caching a partial one', async () => {
    const cache = new PreviewCache();
    const text = fixture('chat.ts');
    const doc = { uri: 'file:///chat.ts', version: 3, languageId: 'typescript', fileName: 'chat.ts', getText: (): string => text };
    assert.deepEqual(await cache.previews(doc, alice, 'k', { isCancellationRequested: true }), []);
    assert.equal((await cache.previews(doc, alice, 'k')).length, 3);
  });
});

describe('preview: large files', () => {
  it('skips a file over the size bound (generated bundles)', async () => {
    const cache = new PreviewCache();
    const text = `${'x'.repeat(1_000_001)}\nclient.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });`;
    assert.deepEqual(await cache.calls({ uri: 'file:///bundle.js', version: 1, languageId: 'javascript', fileName: 'bundle.js', getText: () => text }), []);
  });
});
