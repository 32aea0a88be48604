import assert from 'node:assert/strict';
import type { AuditRecord, SettleBody } from '../../../src/contracts/audit-records';
import { csvHeader, csvRow } from '../../../src/store/ledger/export';
import { noFilters, recentDecisions, spendRows } from '../../../src/views/dashboard-model';
import type { MockUsage } from '../../helpers/mock-style';
import { MockUpstream } from '../../helpers/mock-upstream';
import { startTestProxy } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';

// Money as billed: a mock that reports cache reads, cache writes (both durations) and reasoning,
// streamed and not. Each expected amount is computed here by hand from the prices (USD per 1M):
// claude-haiku-4-5 from the catalogue (input 1, cache read 0.10, 5-minute write 1.25, 1-hour
// write 2, output 5); gpt-4o-mini from the reference bundle's override (input 0.15, cache read
// 0.075, output 0.60). The settle record, the admin state and the dashboard model must all agree.

interface Case {
  readonly name: string;
  readonly user: string;
  readonly path: string;
  readonly body: Record<string, unknown>;
  readonly usage: MockUsage;
  /** What the settle record says the call used (a stream's output is its content events: 3). */
  readonly settled: SettleBody['usage'];
  readonly usd: number;
}

const haiku = { model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hello' }] };
const mini = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] };
const anthropicTurn: MockUsage = { input: 21_550, output: 7, cacheRead: 20_000, cacheWrite: 1_000, cacheWrite1h: 500 };
const openaiTurn: MockUsage = { input: 2_000, output: 7, cacheRead: 1_536, reasoning: 2 };

const cases: readonly Case[] = [
  {
    name: 'anthropic messages', user: 'ann@acme.dev', path: '/anthropic/v1/messages', body: haiku, usage: anthropicTurn,
    settled: { input_tokens: 21_550, output_tokens: 7, cache_read_input_tokens: 20_000, cache_write_input_tokens: 1_500 },
    usd: (50 * 1 + 20_000 * 0.1 + 1_000 * 1.25 + 500 * 2 + 7 * 5) / 1e6,
  },
  {
    name: 'anthropic messages, streamed', user: 'ann-stream@acme.dev', path: '/anthropic/v1/messages', body: { ...haiku, stream: true }, usage: anthropicTurn,
    settled: { input_tokens: 21_550, output_tokens: 3, cache_read_input_tokens: 20_000, cache_write_input_tokens: 1_500 },
    usd: (50 * 1 + 20_000 * 0.1 + 1_000 * 1.25 + 500 * 2 + 3 * 5) / 1e6,
  },
  {
    name: 'openai chat completions', user: 'oli@acme.dev', path: '/openai/v1/chat/completions', body: mini, usage: openaiTurn,
    settled: { input_tokens: 2_000, output_tokens: 7, cache_read_input_tokens: 1_536, reasoning_output_tokens: 2 },
    usd: (464 * 0.15 + 1_536 * 0.075 + 7 * 0.6) / 1e6,
  },
  {
    name: 'openai chat completions, streamed', user: 'oli-stream@acme.dev', path: '/openai/v1/chat/completions', body: { ...mini, stream: true }, usage: openaiTurn,
    settled: { input_tokens: 2_000, output_tokens: 3, cache_read_input_tokens: 1_536, reasoning_output_tokens: 2 },
    usd: (464 * 0.15 + 1_536 * 0.075 + 3 * 0.6) / 1e6,
  },
  {
    name: 'openai responses', user: 'rae@acme.dev', path: '/openai/v1/responses', body: { model: 'gpt-4o-mini', input: 'hello' }, usage: openaiTurn,
    settled: { input_tokens: 2_000, output_tokens: 7, cache_read_input_tokens: 1_536, reasoning_output_tokens: 2 },
    usd: (464 * 0.15 + 1_536 * 0.075 + 7 * 0.6) / 1e6,
  },
  {
    name: 'openai responses, streamed', user: 'rae-stream@acme.dev', path: '/openai/v1/responses', body: { model: 'gpt-4o-mini', input: 'hello', stream: true }, usage: openaiTurn,
    settled: { input_tokens: 2_000, output_tokens: 3, cache_read_input_tokens: 1_536, reasoning_output_tokens: 2 },
    usd: (464 * 0.15 + 1_536 * 0.075 + 3 * 0.6) / 1e6,
  },
];

const close = (actual: number, expected: number, what: string): void => assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} is ${expected}`);

describe('money as billed (cache reads, cache writes, reasoning)', () => {
  let mock: MockUpstream;
  let proxy: TestProxy;
  before(async () => {
    mock = new MockUpstream();
    proxy = await startTestProxy(await mock.start());
  });
  after(async () => {
    await proxy.stop();
    await mock.stop();
  });

  for (const c of cases) {
    it(`${c.name}: the settle record, the admin state and the dashboard show the bill`, async () => {
      mock.input = c.usage.input;
      mock.billed = { cacheRead: c.usage.cacheRead, cacheWrite: c.usage.cacheWrite, cacheWrite1h: c.usage.cacheWrite1h, reasoning: c.usage.reasoning };
      const res = await fetch(`${proxy.url}${c.path}`, {
        method: 'POST', headers: { authorization: `Bearer ${await proxy.token(c.user)}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body: JSON.stringify(c.body),
      });
      assert.equal(res.status, 200, await res.clone().text());
      await res.text();

      const records = await proxy.records();
      const decision = records.find((r): r is Extract<AuditRecord, { kind: 'decision' }> => r.kind === 'decision' && r.identity.user === c.user);
      assert.ok(decision, 'the call was decided');
      const settle = await waitFor(async () => (await proxy.records()).find((r): r is Extract<AuditRecord, { kind: 'settle' }> => r.kind === 'settle' && r.decision === decision.id));
      assert.deepEqual(settle.usage, c.settled);
      close(settle.usd, c.usd, 'settle record');
      assert.equal(settle.usd, Math.round(c.usd * 1e9) / 1e9, 'to the nano-dollar, without float noise');
      close(decision.reserved.usd, reservedWorstCase(c, decision.reserved.input_tokens, decision.reserved.output_tokens), 'the reservation assumes no cache hit');

      const row = csvRow(settle).trim().split(',');
      const header = csvHeader().trim().split(',');
      assert.equal(row[header.indexOf('usage.cache_read_input_tokens')], String(c.settled.cache_read_input_tokens ?? ''));
      assert.equal(row[header.indexOf('usage.reasoning_output_tokens')], String(c.settled.reasoning_output_tokens ?? ''));

      const state = await proxy.state();
      const recent = recentDecisions(state.recent, noFilters).find((d) => d.id === decision.id);
      assert.ok(recent?.settled, 'the dashboard shows the call settled');
      close(recent.usd, c.usd, 'dashboard recent decision');
      const spend = spendRows(state.spend.byUser, c.user).find((r) => r.key === c.user);
      close(spend?.usd ?? NaN, c.usd, 'dashboard spend by user');
      const budget = state.accumulators.find((a) => a.rule === 'user-daily' && a.key === `user:${c.user}`);
      close(budget?.used ?? NaN, c.usd, 'the daily budget in the admin state');
    });
  }
});

/** The reservation: every input token uncached, at the model's input price. */
function reservedWorstCase(c: Case, input: number, output: number): number {
  return c.body.model === 'claude-haiku-4-5' ? (input * 1 + output * 5) / 1e6 : (input * 0.15 + output * 0.6) / 1e6;
}

async function waitFor<T>(get: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = await get();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('timed out');
}
