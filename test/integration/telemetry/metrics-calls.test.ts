import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import OpenAI from 'openai';
import { OPERATION_DURATION_BUCKETS } from '../../../src/telemetry/metrics';
import { MockUpstream } from '../../helpers/mock-upstream';
import { startTestProxy } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';

// What each kind of call leaves in the metrics, read from the Prometheus endpoint.

/** The samples of one series name: labels (as text) -> value. */
function samples(text: string, name: string): { labels: string; value: number }[] {
  const out: { labels: string; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m && m[1] === name) out.push({ labels: m[2] ?? '', value: Number(m[3]) });
  }
  return out;
}

describe('metrics of each kind of call', function () {
  this.timeout(30_000);
  let mock: MockUpstream;
  let proxy: TestProxy;
  let openai: OpenAI;
  let scrape: () => Promise<string>;

  before(async () => {
    mock = new MockUpstream();
    proxy = await startTestProxy(await mock.start());
    const metricsToken = fs.readFileSync(path.join(proxy.dataDir, 'metrics-token'), 'utf8').trim();
    scrape = async () => (await fetch(`${proxy.url}/_tollgate/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).text();
    openai = new OpenAI({ apiKey: await proxy.token('bob@acme.dev'), baseURL: `${proxy.url}/openai/v1`, maxRetries: 0 });
  });
  after(async () => {
    await proxy.stop();
    await mock.stop();
  });

  it('times a call the upstream failed with error.type and adds no token points for it', async () => {
    mock.next.push({ kind: 'status', status: 500, body: { error: { message: 'upstream broke', type: 'server_error' } } });
    await assert.rejects(openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }), (err: InstanceType<typeof OpenAI.APIError>) => err.status === 500);
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    const text = await scrape();
    const counts = samples(text, 'gen_ai_client_operation_duration_count');
    assert.equal(counts.length, 2);
    assert.equal(counts.filter((s) => s.labels.includes('error_type="500"')).length, 1);
    assert.equal(counts.filter((s) => !s.labels.includes('error_type=')).length, 1);
    const tokenCounts = samples(text, 'gen_ai_client_token_usage_count');
    assert.deepEqual(tokenCounts.map((s) => s.value), [1, 1], 'one input and one output point, from the call that succeeded');
    const bounds = samples(text, 'gen_ai_client_operation_duration_bucket').filter((s) => s.labels.includes('error_type="500"')).map((s) => /le="([^"]+)"/.exec(s.labels)![1]);
    assert.deepEqual(bounds, [...OPERATION_DURATION_BUCKETS.map(String), '+Inf']);
  });

  it('counts a refusal before anyone was identified under its reason', async () => {
    const anonymous = new OpenAI({ apiKey: 'not-a-tollgate-token', baseURL: `${proxy.url}/openai/v1`, maxRetries: 0 });
    await assert.rejects(anonymous.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }), (err: InstanceType<typeof OpenAI.APIError>) => err.status === 401);
    const refused = samples(await scrape(), 'tollgate_decisions_total').filter((s) => s.labels.includes('tollgate_outcome="refuse"'));
    assert.equal(refused.length, 1);
    assert.match(refused[0]!.labels, /tollgate_rule="[a-z-]+",tollgate_provider="openai"/);
    assert.equal(refused[0]!.value, 1);
  });

  it('counts a streamed call once, with its usage', async () => {
    const before = samples(await scrape(), 'gen_ai_client_token_usage_sum').find((s) => s.labels.includes('gen_ai_token_type="output"'))!.value;
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'count' }], stream: true, stream_options: { include_usage: true } });
    let output = 0;
    for await (const chunk of stream) output += chunk.usage?.completion_tokens ?? 0;
    const after = samples(await scrape(), 'gen_ai_client_token_usage_sum').find((s) => s.labels.includes('gen_ai_token_type="output"'))!.value;
    assert.equal(after - before, output);
  });
});
