import assert from 'node:assert/strict';
import type { RefusalsRecord } from '../../../src/contracts/audit-records';
import { MockUpstream } from '../../helpers/mock-upstream';
import { startTestProxy } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';
import { rawRequest } from '../../helpers/raw-http';

describe('refusals before a verified identity are counted, not recorded one by one', () => {
  let mock: MockUpstream;
  let p: TestProxy;
  before(async () => {
    mock = new MockUpstream();
    p = await startTestProxy(await mock.start());
  });
  after(async () => {
    await p.stop();
    await mock.stop();
  });

  it('answers a flood of unauthenticated requests with a handful of summary records, each answer naming the record that counts it', async () => {
    const kinds: { target: string; headers: Record<string, string>; status: number; reason: string }[] = [
      { target: '/openai/v1/chat/completions', headers: {}, status: 401, reason: 'missing' },
      { target: '/openai/v1/chat/completions', headers: { authorization: 'Bearer not.a.jwt' }, status: 401, reason: 'malformed' },
      { target: '/nope/v1/chat/completions', headers: {}, status: 404, reason: 'unknown-provider' },
      { target: '/openai/v1/files', headers: {}, status: 404, reason: 'unknown-route' },
      { target: '/openai/v1/chat/completions#x', headers: {}, status: 400, reason: 'bad-path' },
    ];
    const started = Date.now();
    const before = (await p.records()).length;
    const answers: { status: number; id: string; reason: string }[] = [];
    // Several rounds of concurrent requests: a bounded flood that stops by itself.
    for (let round = 0; round < 6; round++) {
      const batch = Array.from({ length: 50 }, (_, i) => kinds[i % kinds.length]!);
      const results = await Promise.all(
        batch.map(async (k) => {
          const r = await rawRequest(p.url, { target: k.target, body: '{}', headers: { 'content-type': 'application/json', ...k.headers } });
          assert.equal(r.status, k.status, `${k.target}: ${r.body}`);
          return { status: r.status, id: r.headers['x-tollgate-decision'] ?? '', reason: k.reason };
        }),
      );
      answers.push(...results);
    }
    const seconds = (Date.now() - started) / 1000;
    const records = (await p.records()).slice(before);
    const summaries = records.filter((r): r is RefusalsRecord => r.kind === 'refusals');
    assert.deepEqual(records.filter((r) => r.kind === 'decision'), [], 'no refusal was recorded on its own');
    assert.ok(summaries.length <= Math.ceil(seconds) + 2, `${summaries.length} records in ${seconds.toFixed(1)} s for 300 refusals`);
    const total = summaries.reduce((n, s) => n + s.counts.reduce((m, c) => m + c.count, 0), 0);
    assert.equal(total, 300, 'every refusal is counted');
    const byId = new Map(summaries.map((s) => [s.id, s]));
    for (const a of answers) {
      const s = byId.get(a.id);
      assert.ok(s, `the answer's decision id ${a.id} names a record that exists`);
      assert.ok(s.counts.some((c) => c.reason === a.reason && c.status === a.status), `the record counts ${a.reason}`);
    }
    assert.ok(summaries.every((s) => s.counts.every((c) => c.provider === '' || c.provider === 'openai')), 'a made-up provider name is not written to the ledger');
  });

  it('names the rule of an identity refusal', async () => {
    const r = await rawRequest(p.url, { target: '/openai/v1/chat/completions', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 401);
    assert.equal(r.headers['x-tollgate-rule'], 'identity');
  });
});
