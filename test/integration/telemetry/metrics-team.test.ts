import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import OpenAI from 'openai';
import type { ClosableStore } from '../../../src/store/store-factory';
import { createStore } from '../../../src/store/store-factory';
import { MockUpstream } from '../../helpers/mock-upstream';
import { policyFrom, referenceText } from '../../helpers/policy';
import { startRedis } from '../../helpers/redis';
import type { TestRedis } from '../../helpers/redis';
import { startTestProxy } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';

// Two gateways on one Redis: each counts its own calls, and both read an exported budget's fill
// from the shared store, so the docs' advice holds (sum counters across instances, max the gauges).

const text = `${referenceText}\ntelemetry:\n  exported: [user-daily]\n`;

/** The value of the first sample of `name` whose labels contain `having`. */
function value(exposition: string, name: string, having = ''): number | undefined {
  for (const line of exposition.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$/.exec(line);
    if (m && m[1] === name && m[2]!.includes(having)) return Number(m[3]);
  }
  return undefined;
}

describe('metrics of two gateways sharing Redis', function () {
  this.timeout(60_000);
  let redis: TestRedis;
  let mock: MockUpstream;
  const stores: ClosableStore[] = [];
  const proxies: TestProxy[] = [];

  before(async function () {
    this.timeout(320_000);
    redis = await startRedis();
    mock = new MockUpstream();
    const upstream = await mock.start();
    for (let i = 0; i < 2; i++) {
      const store = await createStore(`${redis.url}?namespace=metrics-team-${process.pid}`, policyFrom(text, Date.now()));
      stores.push(store);
      proxies.push(await startTestProxy(upstream, { policyText: text, store }));
    }
  });
  after(async () => {
    for (const p of proxies) await p.stop();
    for (const s of stores) await s.close();
    await mock?.stop();
    await redis?.dispose();
  });

  it('counts each call on its own gateway and reports the shared budget\'s fill on both', async () => {
    for (const proxy of proxies) {
      const openai = new OpenAI({ apiKey: await proxy.token('bob@acme.dev'), baseURL: `${proxy.url}/openai/v1`, maxRetries: 0 });
      await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    }
    const scrapes = await Promise.all(proxies.map(async (p) => {
      const token = fs.readFileSync(path.join(p.dataDir, 'metrics-token'), 'utf8').trim();
      return (await fetch(`${p.url}/_tollgate/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
    }));
    const spent = scrapes.map((s) => value(s, 'tollgate_spend_usd_total'));
    assert.ok(spent[0]! > 0 && spent[0] === spent[1], 'one call each, the same cost');
    for (const s of scrapes) assert.equal(value(s, 'tollgate_decisions_total', 'tollgate_outcome="allow"'), 1, 'each gateway counts its own call');
    const used = scrapes.map((s) => value(s, 'tollgate_accumulator_used', 'tollgate_rule="user-daily"'));
    assert.ok(Math.abs(used[0]! - (spent[0]! + spent[1]!)) < 1e-12, `the budget holds both calls: ${used[0]} vs ${spent[0]! + spent[1]!}`);
    assert.equal(used[0], used[1], 'both gateways read the same shared accumulator');
  });
});
