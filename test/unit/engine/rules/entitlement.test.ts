import assert from 'node:assert/strict';
import type { Entitlement, Policy } from '../../../../src/engine/policy/model';
import { EntitlementRule } from '../../../../src/engine/rules/entitlement';
import { referencePolicy } from '../../../helpers/policy';
import { call, who } from './facts';
import type { CallFields } from './facts';

function withEntitlements(def: Entitlement | undefined, users: Record<string, Entitlement> = {}, reserve = 1024): Policy {
  const p = referencePolicy();
  return { ...p, entitlements: { default: def, roles: new Map(), users: new Map(Object.entries(users)) }, guards: { ...p.guards, reserveOutputTokens: reserve } };
}

describe('rules: entitlement', () => {
  const checks: readonly { name: string; def?: Entitlement; users?: Record<string, Entitlement>; call: CallFields; reason?: RegExp }[] = [
    { name: 'admits a call when nothing restricts it', call: {} },
    { name: 'refuses a model outside the models list', def: { models: ['gpt-4o-mini'] }, call: { model: 'gpt-4o' }, reason: /not entitled to model 'gpt-4o'/ },
    { name: 'admits a model a glob names', def: { models: ['gpt-4o*'] }, call: { model: 'gpt-4o-2024-08-06' } },
    { name: 'refuses a route outside the routes list', def: { routes: ['/v1/embeddings'] }, call: {}, reason: /not entitled to route \/v1\/chat\/completions/ },
    { name: 'refuses a provider outside the providers list', def: { providers: ['anthropic'] }, call: {}, reason: /not entitled to provider 'openai'/ },
    { name: 'lets a person\'s own entitlement widen the default', def: { models: ['gpt-4o-mini'] }, users: { 'bob@acme.dev': { models: ['gpt-4o'] } }, call: { model: 'gpt-4o' } },
    { name: 'lets a passthrough through whatever the routes say', def: { routes: ['/v1/embeddings'] }, call: { kind: 'passthrough', route: '/v1/models', model: undefined } },
  ];
  for (const c of checks) {
    it(c.name, () => {
      const refused = new EntitlementRule(withEntitlements(c.def, c.users)).check(who(), call(c.call));
      if (!c.reason) return assert.equal(refused, undefined);
      assert.equal(refused?.refusal, 'entitlement');
      assert.equal(refused?.rule, 'entitlements');
      assert.match(refused!.reason, c.reason);
    });
  }

  const outputs: readonly { name: string; max?: number; call: CallFields; tokens: number; cap?: number }[] = [
    { name: 'holds what the client asked for', call: { requestedOutputTokens: 300 }, tokens: 300 },
    { name: 'holds the policy\'s reserve when the client asked for nothing', call: {}, tokens: 1024 },
    { name: 'holds output for every choice', call: { requestedOutputTokens: 300, choices: 3 }, tokens: 900 },
    { name: 'clamps a larger ask to the cap and writes the cap', max: 200, call: { requestedOutputTokens: 300 }, tokens: 200, cap: 200 },
    { name: 'writes the cap when the client asked for nothing', max: 200, call: {}, tokens: 200, cap: 200 },
    { name: 'leaves a smaller ask alone', max: 200, call: { requestedOutputTokens: 100 }, tokens: 100 },
    { name: 'holds no output for embeddings', max: 200, call: { kind: 'embed' }, tokens: 0 },
  ];
  for (const c of outputs) {
    it(`output: ${c.name}`, () => {
      const rule = new EntitlementRule(withEntitlements(c.max === undefined ? undefined : { max_output_tokens: c.max }));
      const planned = rule.output(who(), call(c.call));
      assert.deepEqual({ tokens: planned.tokens, cap: planned.cap }, { tokens: c.tokens, cap: c.cap });
    });
  }
});
