import * as assert from 'node:assert/strict';
import type { DashboardState } from '../../../src/protocol';
import { bucketRows, noFilters, parseFilters, recentDecisions, spendRows, spendSeries } from '../../../src/views/dashboard-model';
import { formatUsd, statusView, tightestLimit } from '../../../src/views/status-model';
import { decision, snapshot } from './fake-admin';

const acc = (rule: string, used: number, limit: number, extra: object = {}) => ({ rule, kind: 'limit' as const, key: `user:${rule}@x`, unit: 'requests' as const, used, limit, ...extra });

describe('status bar view', () => {
  const running = (over: Partial<DashboardState> = {}): DashboardState => ({ proxy: { phase: 'running', restarts: 0 }, policy: { name: 'p' }, snapshot: snapshot({ todayUsd: 0.42, accumulators: [acc('a', 10, 100), acc('b', 85, 100)] }), ...over });

  it('shows spend today and the tightest limit', () => {
    const v = statusView(running(), 0.9);
    assert.equal(v.text, '$(shield) Tollgate $0.42 · b 15% left');
    assert.equal(v.level, 'normal');
    assert.match(v.tooltip, /Tightest limit: b \(user:b@x\) 85\/100 requests/);
  });

  it('turns to a warning near a limit or after a refused policy edit', () => {
    assert.equal(statusView(running(), 0.8).level, 'warning');
    assert.match(statusView(running(), 0.8).text, /^\$\(warning\)/);
    const rejected = running({ policy: { name: 'p', rejected: { source: 'x', errors: ['x:1:1: bad'] } } });
    assert.equal(statusView(rejected, 0.99).level, 'warning');
    assert.match(statusView(rejected, 0.99).tooltip, /last good policy stays in force/);
  });

  it('says when the proxy is starting, restarting or failed', () => {
    assert.match(statusView({ proxy: { phase: 'starting', restarts: 0 }, policy: {} }).text, /starting/);
    assert.match(statusView({ proxy: { phase: 'restarting', restarts: 2, detail: 'exited' }, policy: {} }).tooltip, /restarting: exited/);
    const failed = statusView({ proxy: { phase: 'failed', restarts: 8, detail: 'gave up' }, policy: {} });
    assert.equal(failed.level, 'error');
    assert.match(failed.tooltip, /gave up/);
  });

  it('finds the tightest limit and formats money', () => {
    assert.equal(tightestLimit([acc('a', 1, 0), acc('b', 150, 100)])?.remaining, 0);
    assert.equal(tightestLimit([]), undefined);
    assert.equal(formatUsd(1.5), '$1.50');
    assert.equal(formatUsd(0.0012), '$0.0012');
    assert.equal(formatUsd(0), '$0.00');
  });
});

describe('dashboard view model', () => {
  it('orders buckets by fill and marks the alert threshold crossed', () => {
    const rows = bucketRows([acc('a', 10, 100), { ...acc('budget', 4.2, 5), kind: 'budget' as const, unit: 'usd' as const, alertAt: [0.8, 0.5] }], noFilters);
    assert.deepEqual(rows.map((r) => r.rule), ['budget', 'a']);
    assert.equal(rows[0]?.crossed, 0.8);
    assert.deepEqual(rows[0]?.alertAt, [0.5, 0.8]);
    assert.equal(rows[1]?.crossed, undefined);
  });

  it('filters decisions by identity, model and outcome', () => {
    const recent = [decision('1'), decision('2', { user: 'bob@x', outcome: 'refuse', rule: 'user-daily' }), decision('3', { model: 'gpt-4o', model_served: 'gpt-4o-mini', outcome: 'downgrade' })];
    assert.deepEqual(recentDecisions(recent, { ...noFilters, identity: 'BOB' }).map((d) => d.id), ['2']);
    assert.deepEqual(recentDecisions(recent, { ...noFilters, outcome: 'refuse' }).map((d) => d.id), ['2']);
    assert.deepEqual(recentDecisions(recent, { ...noFilters, model: 'gpt-4o' }).map((d) => d.id), ['1', '2', '3']);
    assert.deepEqual(recentDecisions(recent, { ...noFilters, model: 'gpt-4o-m' }).map((d) => d.id), ['1', '2', '3'], 'served model matches too');
  });

  it('restores only well-formed saved filters', () => {
    assert.deepEqual(parseFilters({ identity: 'a', model: 3, outcome: 'nope' }), { identity: 'a', model: '', outcome: 'all' });
    assert.deepEqual(parseFilters(undefined), noFilters);
  });

  it('sorts spend and builds the time series in UTC days', () => {
    const row = (key: string, usd: number) => ({ key, requests: 1, input_tokens: 1, output_tokens: 1, usd });
    assert.deepEqual(spendRows([row('a', 1), row('b', 3)], '').map((r) => r.key), ['b', 'a']);
    const s = snapshot({ spend: { byUser: [], byAgent: [], byModel: [], byDay: [row('2026-01-02', 2), row('2026-01-01', 1), row('bad', 9)] } });
    assert.deepEqual(spendSeries(s), [[Date.UTC(2026, 0, 1) / 1000, Date.UTC(2026, 0, 2) / 1000], [1, 2]]);
  });

  it('charts the running total of recent decisions while there is only one day', () => {
    const s0 = snapshot({});
    const decision = (time: string, usd: number): (typeof s0.recent)[number] => ({ ...(s0.recent[0] ?? {}), id: time, seq: 1, time, user: 'a', agent: 'b', model: 'm', model_served: 'm', provider: 'openai', route: '/v1/chat/completions', outcome: 'allow', status: 200, rule: null, shadow: false, settled: true, usd });
    const s = snapshot({ recent: [decision('2026-01-01T10:00:05.000Z', 0.5), decision('2026-01-01T10:00:01.000Z', 0.25)] });
    assert.deepEqual(spendSeries(s), [[Date.UTC(2026, 0, 1, 10, 0, 1) / 1000, Date.UTC(2026, 0, 1, 10, 0, 5) / 1000], [0.25, 0.75]]);
  });

  it('shows a fraction of a cent with digits that are not zero', () => {
    assert.equal(formatUsd(0.0000051), '$0.000005');
  });
});
