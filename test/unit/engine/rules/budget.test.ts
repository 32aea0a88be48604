import assert from 'node:assert/strict';
import type { OpResult } from '../../../../src/engine/limiters/spec';
import type { Budget } from '../../../../src/engine/policy/model';
import { BudgetRule, downgradeFor, downgradeRule } from '../../../../src/engine/rules/budget';
import type { PlannedCharge } from '../../../../src/engine/rules/charge';
import { facts, T0, who } from './facts';

const daily: Budget = { kind: 'budget', id: 'user-daily', per: ['user'], period: { type: 'calendar', unit: 'day' }, limitUsd: 5, alertAt: [0.8], onExceed: 'refuse' };
const rolling: Budget = { ...daily, id: 'team-rolling', per: ['role'], period: { type: 'rolling', ms: 7 * 86_400_000 }, limitUsd: 100, alertAt: [] };
const downgrading = (id: string, to: string): Budget => ({ ...daily, id, onExceed: 'downgrade', downgradeTo: to });

function planned(budget: Budget): PlannedCharge {
  const out: PlannedCharge[] = [];
  new BudgetRule(budget, []).plan(facts(), out);
  return out[0]!;
}

describe('rules: budget', () => {
  const specs: readonly { name: string; budget: Budget; limitUsd?: number; spec: unknown }[] = [
    { name: 'a calendar day', budget: daily, spec: { type: 'calendar', unit: 'day', limit: 5, alertAt: [0.8] } },
    { name: 'a rolling window', budget: rolling, spec: { type: 'rolling', windowMs: 7 * 86_400_000, limit: 100, alertAt: [] } },
    { name: 'a calendar day with its limit raised by exception', budget: daily, limitUsd: 20, spec: { type: 'calendar', unit: 'day', limit: 20, alertAt: [0.8] } },
  ];
  for (const c of specs) {
    it(`compiles ${c.name}`, () => {
      const x = c.limitUsd === undefined ? undefined : { id: 'x', identity: { user: '*' }, ruleId: c.budget.id, limitUsd: c.limitUsd, expiresAt: T0 + 1, reason: 'r' };
      assert.deepEqual(new BudgetRule(c.budget, []).spec(x), c.spec);
    });
  }

  it('charges the call\'s USD, and is refused as a budget', () => {
    const p = planned(daily);
    assert.deepEqual({ key: p.key, unit: p.unit, amount: p.amount }, { key: 'user:bob@acme.dev', unit: 'usd', amount: 0.002 });
    assert.equal(p.rule.refusal, 'budget');
  });

  it('offers a downgrade target only when exceeding it downgrades', () => {
    assert.equal(new BudgetRule(daily, []).downgradeTo, undefined);
    assert.equal(new BudgetRule({ ...daily, downgradeTo: 'gpt-4o-mini' }, []).downgradeTo, undefined, 'on_exceed: refuse ignores downgrade_to');
    assert.equal(new BudgetRule(downgrading('d', 'gpt-4o-mini'), []).downgradeTo, 'gpt-4o-mini');
  });

  const downgrades: readonly { name: string; refusing: readonly Budget[]; model?: string; to?: string }[] = [
    { name: 'downgrades when the one refusing budget downgrades', refusing: [downgrading('a', 'gpt-4o-mini')], model: 'gpt-4o', to: 'gpt-4o-mini' },
    { name: 'downgrades when every refusing budget agrees on the target', refusing: [downgrading('a', 'gpt-4o-mini'), downgrading('b', 'gpt-4o-mini')], model: 'gpt-4o', to: 'gpt-4o-mini' },
    { name: 'refuses when refusing budgets disagree on the target', refusing: [downgrading('a', 'gpt-4o-mini'), downgrading('b', 'o3-mini')], model: 'gpt-4o' },
    { name: 'refuses when any refusing budget refuses', refusing: [downgrading('a', 'gpt-4o-mini'), daily], model: 'gpt-4o' },
    { name: 'refuses a call that names no model', refusing: [downgrading('a', 'gpt-4o-mini')] },
  ];
  for (const c of downgrades) {
    it(c.name, () => {
      const plan = c.refusing.map(planned);
      const d = downgradeFor(plan, plan.map((_, i) => i), c.model);
      assert.equal(d?.to, c.to);
      if (d) assert.deepEqual([...d.budgets], c.refusing.map((b) => b.id));
    });
  }

  it('names the budget a downgraded call was charged past', () => {
    assert.equal(downgradeRule([planned(daily), { ...planned(downgrading('a', 'm')), force: true }]), 'a');
    assert.equal(downgradeRule([planned(daily)]), null);
  });

  it('explains a refusal with the budget, its period and the spend', () => {
    const r: OpResult = { before: 4.99, after: 4.99, limit: 5 };
    assert.equal(
      new BudgetRule(daily, []).explain(planned(daily), r, who(), 3_600_000),
      "budget 'user-daily' ($5.00 per day) for user:bob@acme.dev (bob@acme.dev): $4.99 of $5.00 used; this request needs $0.0020; it frees up in 60 min",
    );
    assert.match(new BudgetRule(rolling, []).explain(planned({ ...rolling, per: ['user'] }), r, who(), null), /budget 'team-rolling' \(\$5\.00 per rolling window\)/);
  });

  const horizons: readonly [string, Budget, number][] = [
    ['a day budget reaches back a day', daily, 86_400_000],
    ['a month budget reaches back 31 days', { ...daily, period: { type: 'calendar', unit: 'month' } }, 31 * 86_400_000],
    ['a rolling budget reaches back its window', rolling, 7 * 86_400_000],
  ];
  for (const [name, budget, ms] of horizons) {
    it(name, () => assert.equal(new BudgetRule(budget, []).horizonMs(), ms));
  }
});
