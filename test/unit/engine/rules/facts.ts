import type { ModelCall } from '../../../../src/contracts/call';
import type { Identity } from '../../../../src/engine/identity/identity';
import type { Cost, PlanFacts } from '../../../../src/engine/rules/charge';

// Builders for the rule modules' tables: an identity, a call and the facts a rule plans from.

export const T0 = Date.parse('2026-11-23T12:00:00Z');

export function who(user = 'bob@acme.dev', o: Partial<Identity> = {}): Identity {
  return { user, agent: 'default', session: 's1', roles: [], issuer: 'tollgate', ...o };
}

export type CallFields = Partial<ModelCall>;

export function call(o: CallFields = {}): ModelCall {
  return { provider: 'openai', style: 'openai', route: '/v1/chat/completions', kind: 'generate', model: 'gpt-4o-mini', stream: false, inputTokens: 100, choices: 1, texts: [], ...o };
}

export function facts(o: Omit<Partial<PlanFacts>, 'cost'> & { cost?: Partial<Cost> } = {}): PlanFacts {
  const c = call();
  return {
    identity: who(), call: c, model: c.model, trace: undefined, labels: [], now: T0, forced: new Set(), ...o,
    cost: { requests: 1, tokens: 300, usd: 0.002, tool_calls: 0, ...o.cost },
  };
}
