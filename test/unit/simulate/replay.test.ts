import assert from 'node:assert/strict';
import { simulate } from '../../../src/simulate/simulate';
import type { NumberedLine } from '../../../src/simulate/simulate';
import { TrafficFileError } from '../../../src/simulate/simulate';
import { NOW, policyFrom, referencePolicy, referenceText } from '../../helpers/policy';

const MIN = 60_000;

/** Traffic lines from objects, numbered from 1 as a file would be. */
function traffic(objects: object[]): NumberedLine[] {
  return objects.map((o, i) => ({ text: JSON.stringify(o), line: i + 1 }));
}

const at = (ms: number): string => new Date(NOW + ms).toISOString();

// Prices per 1M tokens chosen so one call is a round number: 10,000 in at $10 + 1,000 out at $30 = $0.13.
const budgetPolicy = (onExceed: string): string => `version: 1
name: budget-test
providers:
  openai: { upstream: https://api.openai.com, style: openai }
identity: { required: true }
prices:
  big:   { input: 10.00, output: 30.00 }
  small: { input: 1.00,  output: 2.00 }
budgets:
  - id: daily
    per: user
    period: day
    limit_usd: 1
    ${onExceed}
`;

const bigCall = (ms: number): object => ({ time: at(ms), user: 'dana@acme.dev', provider: 'openai', model: 'big', input_tokens: 10_000, max_tokens: 1000, output_tokens: 1000 });

describe('simulate: replay through the engine', () => {
  it('refuses a token bucket burst at hand-computed times (20 at once, then one per second)', async () => {
    const bob = (ms: number): object => ({ time: at(ms), user: 'bob@acme.dev', provider: 'openai', model: 'gpt-4o-mini', input_tokens: 10, max_tokens: 10 });
    const lines = [...Array.from({ length: 22 }, () => bob(0)), bob(500), bob(1000), bob(1000)];
    const r = await simulate(traffic(lines), { policy: referencePolicy() });
    const row = r.policy.identities[0]!;
    assert.equal(row.user, 'bob@acme.dev');
    assert.equal(row.requests, 25);
    // 20 fit the burst; the 21st and 22nd find it empty; at +500ms half a request has refilled
    // (60/min); at +1000ms one has, so one more fits and the next is refused again.
    assert.equal(row.allowed, 21);
    assert.equal(row.refused, 4);
    assert.deepEqual(row.refused_by_rule, { 'agent-burst': 4 });
    assert.equal(row.first_refusal?.time, at(0));
    assert.equal(row.first_refusal?.rule, 'agent-burst');
    assert.match(row.first_refusal!.reason, /20 of 20 requests used/);
    assert.deepEqual(r.policy.totals.refused_by_rule, { 'agent-burst': 4 });
  });

  it('crosses a refusing USD budget at the 8th request, and the next day admits again', async () => {
    const lines = [...Array.from({ length: 9 }, (_, i) => bigCall(i * MIN)), bigCall(24 * 60 * MIN)];
    const r = await simulate(traffic(lines), { policy: policyFrom(budgetPolicy('on_exceed: refuse')) });
    const row = r.policy.identities[0]!;
    // 7 x $0.13 = $0.91 spent; the 8th holds another $0.13 = $1.04 > $1: refused, and so is the 9th.
    assert.equal(row.allowed, 8);
    assert.equal(row.refused, 2);
    assert.deepEqual(row.refused_by_rule, { daily: 2 });
    assert.equal(row.first_refusal?.time, at(7 * MIN));
    assert.match(row.first_refusal!.reason, /budget 'daily'.*\$0\.9100 of \$1\.00 used/);
    assert.ok(Math.abs(row.usd - 8 * 0.13) < 1e-9, `cost ${row.usd}`);
    assert.equal(row.input_tokens, 80_000);
    assert.equal(row.output_tokens, 8_000);
  });

  it('downgrades at the same request when the budget says downgrade, charging the cheaper model', async () => {
    const lines = Array.from({ length: 9 }, (_, i) => bigCall(i * MIN));
    const r = await simulate(traffic(lines), { policy: policyFrom(budgetPolicy('on_exceed: downgrade\n    downgrade_to: small')) });
    const row = r.policy.identities[0]!;
    assert.equal(row.allowed, 7);
    assert.equal(row.downgraded, 2);
    assert.equal(row.refused, 0);
    assert.equal(row.first_refusal, null);
    // 7 x $0.13 on big + 2 x (10,000 x $1 + 1,000 x $2) / 1M = $0.012 each on small.
    assert.ok(Math.abs(row.usd - (7 * 0.13 + 2 * 0.012)) < 1e-9, `cost ${row.usd}`);
  });

  it('charges the reserved worst case when a line has no output_tokens', async () => {
    const line = { time: at(0), user: 'dana@acme.dev', provider: 'openai', model: 'big', input_tokens: 10_000, max_tokens: 1000 };
    const r = await simulate(traffic([line]), { policy: policyFrom(budgetPolicy('on_exceed: refuse')) });
    assert.equal(r.policy.identities[0]!.output_tokens, 1000);
    assert.ok(Math.abs(r.policy.totals.usd - 0.13) < 1e-9);
  });

  it('prices cache reads and writes a line reports as the proxy bills them (catalogue prices, by hand)', async () => {
    // claude-haiku-4-5: input $1, cache read $0.10, cache write $1.25, output $5 per 1M.
    const line = { time: at(0), user: 'dana@acme.dev', provider: 'anthropic', model: 'claude-haiku-4-5', input_tokens: 21_050, max_tokens: 100, output_tokens: 50, cache_read_input_tokens: 20_000, cache_write_input_tokens: 1_000 };
    const r = await simulate(traffic([line]), { policy: referencePolicy() });
    assert.ok(Math.abs(r.policy.totals.usd - 0.00355) < 1e-12, `${r.policy.totals.usd}`);
  });

  it('counts literal messages with the provider adapter and takes roles from the policy', async () => {
    const line = { time: at(0), user: 'Alice@Acme.dev', provider: 'openai', model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 5, output_tokens: 5 };
    const r = await simulate(traffic([line]), { policy: referencePolicy() });
    const row = r.policy.identities[0]!;
    assert.equal(row.user, 'alice@acme.dev', 'users are normalised like verified identities');
    assert.deepEqual(row.roles, ['marketing-analysts']);
    assert.equal(row.input_tokens, 3 + 3 + 2, 'reply priming, one message, two tokens of text');
  });

  it('replays declared PII labels: the sixth PII request in a minute is refused by pii-flow', async () => {
    const lines = Array.from({ length: 6 }, (_, i) => ({ time: at(i * 1000), user: 'carol@acme.dev', provider: 'openai', model: 'gpt-4o-mini', input_tokens: 10, max_tokens: 10, classification: ['pii'] }));
    const r = await simulate(traffic(lines), { policy: referencePolicy() });
    assert.deepEqual(r.policy.identities[0]!.refused_by_rule, { 'pii-flow': 1 });
    assert.equal(r.policy.identities[0]!.first_refusal?.time, at(5000));
  });

  it('refuses calls past the trace guard in one chain', async () => {
    const lines = Array.from({ length: 52 }, (_, i) => ({ time: at(i * 2000), user: 'bob@acme.dev', provider: 'openai', model: 'gpt-4o-mini', input_tokens: 1, max_tokens: 1, trace: 'aaaa' }));
    const r = await simulate(traffic(lines), { policy: referencePolicy() });
    assert.deepEqual(r.policy.identities[0]!.refused_by_rule, { max_calls_per_trace: 2 });
  });

  it('names every bad line with its number and replays nothing', async () => {
    const lines: NumberedLine[] = [
      { text: '# comment', line: 1 },
      { text: JSON.stringify(bigCall(0)), line: 2 },
      { text: '{"time": "2026-11-23T12:00:00Z"', line: 3 },
      { text: JSON.stringify({ ...bigCall(0), input_tokens: -1 }), line: 4 },
      { text: '', line: 5 },
      { text: JSON.stringify({ ...bigCall(0), provider: 'mistral' }), line: 6 },
      { text: JSON.stringify({ ...bigCall(0), colour: 'red' }), line: 7 },
      { text: JSON.stringify(bigCall(-1000)), line: 8 },
      { text: JSON.stringify({ ...bigCall(0), messages: [{ role: 'user', content: 'x' }] }), line: 9 },
    ];
    await assert.rejects(simulate(lines, { policy: policyFrom(budgetPolicy('on_exceed: refuse')) }), (err: unknown) => {
      assert.ok(TrafficFileError.is(err));
      assert.deepEqual(err.errors.map((e) => [e.line, e.reason]), [[3, 'json'], [4, 'field'], [6, 'provider'], [7, 'field'], [8, 'order'], [9, 'field']]);
      assert.match(err.errors[1]!.message, /"input_tokens" must be a non-negative integer/);
      assert.match(err.errors[2]!.message, /provider 'mistral' is not in the policy/);
      assert.match(err.errors[5]!.message, /exactly one of "input_tokens" and "messages"/);
      return true;
    });
  });
});

describe('simulate: baseline diff', () => {
  it('names who is newly refused, by which rule, from when, and who no longer is', async () => {
    const proposedText = referenceText
      .replace('rate: 60/min\n    burst: 20', 'rate: 60/min\n    burst: 10')
      .replace('models: [gpt-4o-mini, "claude-haiku-*"', 'models: [gpt-4o-mini, gpt-4o, "claude-haiku-*"');
    assert.notEqual(proposedText, referenceText);
    const call = (user: string, ms: number, model = 'gpt-4o-mini'): object => ({ time: at(ms), user, provider: 'openai', model, input_tokens: 100, max_tokens: 100, output_tokens: 50 });
    const lines = [
      ...Array.from({ length: 15 }, () => call('bob@acme.dev', 0)),
      ...Array.from({ length: 25 }, () => call('dave@acme.dev', 0)),
      call('alice@acme.dev', 60_000, 'gpt-4o'),
      call('erin@acme.dev', 60_000),
    ];
    const r = await simulate(traffic(lines), { policy: policyFrom(proposedText), baseline: referencePolicy() });
    assert.ok(r.baseline && r.changes);
    assert.equal(r.baseline.totals.refused, 5 + 1, 'baseline: dave past 20, alice not entitled to gpt-4o');
    assert.equal(r.policy.totals.refused, 5 + 15);
    const byUser = new Map(r.changes.map((c) => [c.user, c]));
    assert.deepEqual([...byUser.keys()], ['alice@acme.dev', 'bob@acme.dev', 'dave@acme.dev'], 'erin is unchanged and not listed');
    const bob = byUser.get('bob@acme.dev')!;
    assert.equal(bob.newly_refused, 5);
    assert.deepEqual(bob.newly_refused_by_rule, { 'agent-burst': 5 });
    assert.equal(bob.from, at(0));
    assert.equal(bob.first_rule, 'agent-burst');
    assert.ok(bob.usd_delta < 0, 'five fewer calls cost less');
    const dave = byUser.get('dave@acme.dev')!;
    assert.equal(dave.newly_refused, 10, 'requests 11-20: the baseline admitted them');
    assert.equal(dave.no_longer_refused, 0);
    const alice = byUser.get('alice@acme.dev')!;
    assert.equal(alice.newly_refused, 0);
    assert.equal(alice.no_longer_refused, 1);
    assert.ok(Math.abs(alice.usd - (100 * 2.5 + 50 * 10) / 1e6) < 1e-12, 'gpt-4o at its price');
    assert.equal(alice.usd_baseline, 0);
  });
});

describe('simulate: tool declarations and tool calls', () => {
  const toolPolicy = (onUndeclared: string): string => `version: 1
name: tools-test
providers:
  openai: { upstream: https://api.openai.com, style: openai }
identity: { required: true }
limits:
  - id: tool-loop
    per: agent
    algorithm: sliding-window
    window: 1h
    limit: 3
    cost: tool_calls
tools:
  on_undeclared: ${onUndeclared}
  default: { allow: [Read, Grep] }
`;
  const line = (ms: number, tools: string[], toolCalls?: number): object => ({
    time: at(ms), user: 'dana@acme.dev', provider: 'openai', model: 'gpt-4o-mini', input_tokens: 10, max_tokens: 10, output_tokens: 5, tools, ...(toolCalls !== undefined ? { tool_calls: toolCalls } : {}),
  });

  it('refuses a line declaring a tool outside the list, by the tools rule', async () => {
    const r = await simulate(traffic([line(0, ['Read', 'Bash'])]), { policy: policyFrom(toolPolicy('refuse')) });
    assert.deepEqual(r.policy.identities[0]!.refused_by_rule, { tools: 1 });
  });

  it('reports the tools a strip bundle removes, per person', async () => {
    const r = await simulate(traffic([line(0, ['Read', 'Bash']), line(MIN, ['Bash', 'Edit'])]), { policy: policyFrom(toolPolicy('strip')) });
    const row = r.policy.identities[0]!;
    assert.equal(row.refused, 0);
    assert.deepEqual(row.tools_stripped, { Bash: 2, Edit: 1 });
  });

  it('charges the tool calls each line reports, refusing the turn after a loop spends the limit', async () => {
    const r = await simulate(traffic([line(0, ['Read'], 2), line(MIN, ['Read'], 2), line(2 * MIN, ['Read'], 2), line(3 * MIN, [])]), { policy: policyFrom(toolPolicy('refuse')) });
    const row = r.policy.identities[0]!;
    assert.deepEqual(row.refused_by_rule, { 'tool-loop': 1 }, 'the third turn is refused; a call declaring no tools is not held up');
    assert.equal(row.allowed, 3);
  });
});
