import assert from 'node:assert/strict';
import type { Limit, RuleException } from '../../../../src/engine/policy/model';
import type { PlannedCharge } from '../../../../src/engine/rules/charge';
import { RateLimitRule } from '../../../../src/engine/rules/rate-limit';
import { facts, T0, who } from './facts';

const bucket: Limit = { kind: 'limit', id: 'agent-burst', per: ['agent'], algorithm: 'token-bucket', rate: { perMs: 1 / 1000, text: '60/min' }, burst: 20, cost: 'requests' };
const window: Limit = { kind: 'limit', id: 'user-tokens', per: ['user'], algorithm: 'sliding-window', windowMs: 60_000, limit: 1000, cost: 'tokens' };
const exception = (o: Partial<RuleException>): RuleException => ({ id: 'x1', identity: { agent: 'batch' }, ruleId: 'agent-burst', expiresAt: T0 + 1000, reason: 'eval run', ...o });

describe('rules: rate limit', () => {
  const specs: readonly { name: string; limit: Limit; exception?: RuleException; spec: unknown }[] = [
    { name: 'a token bucket', limit: bucket, spec: { type: 'bucket', ratePerMs: 1 / 1000, burst: 20 } },
    { name: 'a token bucket with a larger burst by exception', limit: bucket, exception: exception({ burst: 500 }), spec: { type: 'bucket', ratePerMs: 1 / 1000, burst: 500 } },
    { name: 'a token bucket with a faster rate by exception', limit: bucket, exception: exception({ rate: { perMs: 1 / 10, text: '100/s' } }), spec: { type: 'bucket', ratePerMs: 1 / 10, burst: 20 } },
    { name: 'a sliding window', limit: window, spec: { type: 'window', windowMs: 60_000, limit: 1000 } },
    { name: 'a sliding window with its max overridden', limit: window, exception: exception({ ruleId: 'user-tokens', max: 5000 }), spec: { type: 'window', windowMs: 60_000, limit: 5000 } },
  ];
  for (const c of specs) {
    it(`compiles ${c.name}`, () => {
      assert.deepEqual(new RateLimitRule(c.limit, []).spec(c.exception), c.spec);
    });
  }

  const plans: readonly { name: string; limit: Limit; f: Parameters<RateLimitRule['plan']>[0]; charges: readonly Pick<PlannedCharge, 'key' | 'amount' | 'unit'>[] }[] = [
    { name: 'charges one request per agent', limit: bucket, f: facts(), charges: [{ key: 'agent:bob@acme.dev/default', amount: 1, unit: 'requests' }] },
    { name: 'charges the call\'s tokens per user', limit: window, f: facts({ cost: { tokens: 750 } }), charges: [{ key: 'user:bob@acme.dev', amount: 750, unit: 'tokens' }] },
    { name: 'counts nothing for a call its when does not admit', limit: { ...window, when: { model: ['gpt-4o'] } }, f: facts(), charges: [] },
    { name: 'counts nothing for an identity its match does not admit', limit: { ...window, match: { user: ['*@other.dev'] } }, f: facts(), charges: [] },
    {
      name: 'charges each role the person holds that the rule matches', limit: { ...bucket, per: ['role'], match: { role: ['eng', 'ml'] } },
      f: facts({ identity: who('bob@acme.dev', { roles: ['eng', 'sales', 'ml'] }) }), charges: [{ key: 'role:eng', amount: 1, unit: 'requests' }, { key: 'role:ml', amount: 1, unit: 'requests' }],
    },
    {
      name: 'combines dimensions into one key', limit: { ...window, per: ['user', 'classification'], when: { classification: ['pii'] } },
      f: facts({ labels: ['pii'], cost: { tokens: 10 } }), charges: [{ key: 'user:bob@acme.dev,classification:pii', amount: 10, unit: 'tokens' }],
    },
  ];
  for (const c of plans) {
    it(c.name, () => {
      const out: PlannedCharge[] = [];
      new RateLimitRule(c.limit, []).plan(c.f, out);
      assert.deepEqual(out.map((p) => ({ key: p.key, amount: p.amount, unit: p.unit })), c.charges);
      for (const p of out) assert.equal(p.storeKey, `${c.limit.id}#${p.key}`);
    });
  }

  const exceptions: readonly { name: string; x: RuleException; agent: string; asserted?: boolean; now: number; applies: boolean }[] = [
    { name: 'applies to the agent it names', x: exception({}), agent: 'batch', now: T0, applies: true },
    { name: 'does not apply to another agent', x: exception({}), agent: 'other', now: T0, applies: false },
    { name: 'does not apply once expired', x: exception({}), agent: 'batch', now: T0 + 1000, applies: false },
    { name: 'does not apply to an agent the caller only asserted', x: exception({}), agent: 'batch', asserted: true, now: T0, applies: false },
  ];
  for (const c of exceptions) {
    it(`an exception ${c.name}`, () => {
      const rule = new RateLimitRule(bucket, [c.x]);
      const found = rule.exceptionFor(who('bob@acme.dev', { agent: c.agent, agentAsserted: c.asserted }), c.now);
      assert.equal(found?.id, c.applies ? c.x.id : undefined);
    });
  }

  it('explains a refusal with the rule, the key, the use, the need and the wait', () => {
    const rule = new RateLimitRule(bucket, []);
    const out: PlannedCharge[] = [];
    rule.plan(facts(), out);
    assert.equal(rule.refusal, 'rate-limit');
    assert.equal(
      rule.explain(out[0]!, { before: 20, after: 20, limit: 20 }, who(), 1000),
      "limit 'agent-burst' (requests token bucket, burst 20) for agent:bob@acme.dev/default (bob@acme.dev): 20 of 20 requests used; this request needs 1 request; it frees up in 1s",
    );
    assert.match(new RateLimitRule(window, []).explain({ ...out[0]!, unit: 'tokens' }, { before: 900, after: 900, limit: 1000 }, who(), null), /limit 'user-tokens' \(1000 tokens per sliding window\).*waiting will not help/);
  });

  const horizons: readonly [string, Limit, number][] = [
    ['a token bucket reaches back as long as it takes to refill from empty', bucket, 20_000],
    ['a sliding window reaches back its length', window, 60_000],
  ];
  for (const [name, limit, ms] of horizons) {
    it(name, () => assert.equal(new RateLimitRule(limit, []).horizonMs(), ms));
  }
});
