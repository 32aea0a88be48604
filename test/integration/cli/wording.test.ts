import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { SET_UPSTREAM_KEY_COMMAND } from '../../../src/contracts/command-titles';
import { CSV_COLUMNS } from '../../../src/store/ledger/export';
import { runTollgate } from '../../helpers/cli';
import { MockUpstream } from '../../helpers/mock-upstream';
import { startTestProxy } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';

// What a person reads, through the official SDK and the command line: refusals in whole requests
// with the noun agreeing, entitlement codes naming what is denied, the palette's own command
// title, and money in the export without float noise.

/** Every number literal in a text whose decimals go past the nano-dollar: float noise. */
function noisyNumbers(text: string): string[] {
  return [...text.matchAll(/-?\d+\.(\d+)(?:e-?\d+)?/g)].filter((m) => m[1]!.length > 9 || /e/.test(m[0])).map((m) => m[0]);
}

describe('what people read: refusals and the audit export', () => {
  let mock: MockUpstream;
  let proxy: TestProxy;
  let client: OpenAI;
  before(async () => {
    mock = new MockUpstream();
    proxy = await startTestProxy(await mock.start());
    client = new OpenAI({ apiKey: await proxy.token('dana@acme.dev', { agent: 'notebook' }), baseURL: `${proxy.url}/openai/v1`, maxRetries: 0 });
  });
  after(async () => {
    await proxy.stop();
    await mock.stop();
  });

  it('a rate-limit refusal counts whole requests: "20 of 20 requests used; this request needs 1 request"', async () => {
    let refusal: InstanceType<typeof OpenAI.APIError> | undefined;
    for (let i = 0; i < 40 && !refusal; i++) {
      try {
        await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
      } catch (err) {
        if (!(err instanceof OpenAI.APIError)) throw err;
        refusal = err;
      }
    }
    assert.ok(refusal, 'the burst was refused');
    assert.equal(refusal.status, 429);
    assert.match(refusal.message, /limit 'agent-burst'.*: 20 of 20 requests used; this request needs 1 request; it frees up in \d+s/);
    assert.doesNotMatch(refusal.message, /\d+\.\d+ requests|1 requests/);
  });

  it('a route refusal says route_not_entitled; a model refusal model_not_entitled', async () => {
    const cleo = new OpenAI({ apiKey: await proxy.token('cleo@acme.dev'), baseURL: `${proxy.url}/openai/v1`, maxRetries: 0 });
    const route = await cleo.completions.create({ model: 'gpt-4o-mini', prompt: 'hi', max_tokens: 5 }).then(() => undefined, (err: unknown) => err);
    assert.ok(route instanceof OpenAI.APIError, String(route));
    assert.equal(route.status, 403);
    assert.equal(route.code, 'route_not_entitled');
    assert.match(route.message, /not entitled to route \/v1\/completions/);
    const model = await cleo.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).then(() => undefined, (err: unknown) => err);
    assert.ok(model instanceof OpenAI.APIError, String(model));
    assert.equal(model.status, 403);
    assert.equal(model.code, 'model_not_entitled');
  });

  it('audit export states usd and amounts without float noise, in jsonl and csv', async () => {
    // Prices per million tokens times odd token counts: sums that float arithmetic leaves noisy.
    const erin = new OpenAI({ apiKey: await proxy.token('erin@acme.dev'), baseURL: `${proxy.url}/openai/v1`, maxRetries: 0 });
    for (const content of ['a', 'a b c', 'a longer prompt of seven words', 'x'.repeat(97)]) {
      await erin.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], max_tokens: 13 });
    }
    await proxy.stop();
    const jsonl = await runTollgate(['audit', 'export', '--format', 'jsonl', '--data-dir', proxy.dataDir]);
    assert.equal(jsonl.code, 0, jsonl.stderr);
    const records = jsonl.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; usd?: number; reserved?: { usd: number } });
    assert.ok(records.some((r) => r.kind === 'settle' && (r.usd ?? 0) > 0), 'calls were settled at a price');
    assert.ok(records.some((r) => r.kind === 'decision' && (r.reserved?.usd ?? 0) > 0), 'decisions held a price');
    assert.deepEqual(noisyNumbers(jsonl.stdout.replace(/"(?:id|hash|prev|sig|decision|time)":"[^"]*"/g, '')), []);
    const csv = await runTollgate(['audit', 'export', '--format', 'csv', '--data-dir', proxy.dataDir]);
    assert.equal(csv.code, 0, csv.stderr);
    const header: string[] = csv.stdout.split('\r\n')[0]!.split(',');
    const columns: string[] = [...CSV_COLUMNS];
    assert.deepEqual(header, columns);
    const moneyColumns = ['reserved.usd', 'usd', 'used'].map((c) => header.indexOf(c));
    for (const line of csv.stdout.trim().split('\r\n').slice(1)) {
      for (const i of moneyColumns) assert.deepEqual(noisyNumbers(line.split(',')[i] ?? ''), [], line);
    }
  });
});

describe('what people read: a proxy without the upstream key', () => {
  it("names the palette's own command title", async () => {
    const mock = new MockUpstream();
    const proxy = await startTestProxy(await mock.start(), { env: {} });
    try {
      const client = new OpenAI({ apiKey: await proxy.token('dana@acme.dev'), baseURL: `${proxy.url}/openai/v1`, maxRetries: 0 });
      const err = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof OpenAI.APIError, String(err));
      assert.ok(err.message.includes(`"${SET_UPSTREAM_KEY_COMMAND.title}"`), err.message);
      assert.ok(err.message.includes('OPENAI_API_KEY'), err.message);
    } finally {
      await proxy.stop();
      await mock.stop();
    }
  });
});
