import assert from 'node:assert/strict';
import type { Budget, Limit, Policy, Rule } from '../../../../src/engine/policy/model';
import { BudgetRule } from '../../../../src/engine/rules/budget';
import type { DeclaredRule } from '../../../../src/engine/rules/declared-rule';
import { RateLimitRule } from '../../../../src/engine/rules/rate-limit';
import { checkUnpricedModel } from '../../../../src/engine/rules/unpriced-model';
import { referencePolicy } from '../../../helpers/policy';
import { call, who } from './facts';
import type { CallFields } from './facts';

const usdLimit: Limit = { kind: 'limit', id: 'usd-window', per: ['user'], algorithm: 'sliding-window', windowMs: 60_000, limit: 1, cost: 'usd' };
const requestLimit: Limit = { ...usdLimit, id: 'requests', cost: 'requests' };
const budget: Budget = { kind: 'budget', id: 'daily', per: ['user'], period: { type: 'calendar', unit: 'day' }, limitUsd: 5, alertAt: [], onExceed: 'refuse' };

function pricedOnly(name: string): Policy {
  return { ...referencePolicy(), prices: new Map([[name, { input: 1, output: 1 }]]) };
}

describe('rules: unpriced model', () => {
  const rules = (...r: Rule[]): DeclaredRule<Rule>[] => r.map((x) => (x.kind === 'budget' ? new BudgetRule(x, []) : new RateLimitRule(x, [])));
  const cases: readonly { name: string; rules: DeclaredRule<Rule>[]; call: CallFields; refused?: RegExp }[] = [
    { name: 'admits a priced model', rules: rules(budget), call: { model: 'gpt-4o-mini' } },
    { name: 'refuses an unpriced model a budget counts', rules: rules(budget), call: { model: 'mystery' }, refused: /model 'mystery' has no price.*budget 'daily' cannot count/ },
    { name: 'refuses an unpriced model a USD limit counts', rules: rules(requestLimit, usdLimit), call: { model: 'mystery' }, refused: /limit 'usd-window' cannot count/ },
    { name: 'admits an unpriced model only request limits count', rules: rules(requestLimit), call: { model: 'mystery' } },
    { name: 'admits an unpriced model no USD rule matches', rules: rules({ ...budget, when: { model: ['gpt-*'] } }), call: { model: 'mystery' } },
    { name: 'admits a token count, which costs nothing', rules: rules(budget), call: { model: 'mystery', kind: 'count' } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = checkUnpricedModel(pricedOnly('gpt-4o-mini'), c.rules, who(), call(c.call), []);
      if (!c.refused) return assert.equal(r, undefined);
      assert.deepEqual({ refusal: r?.refusal, rule: r?.rule }, { refusal: 'entitlement', rule: 'prices' });
      assert.match(r!.reason, c.refused);
    });
  }
});
