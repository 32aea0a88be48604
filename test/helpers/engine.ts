import type { ModelCall } from '../../src/contracts/call';
import type { Decision } from '../../src/engine/decision';
import { Engine } from '../../src/engine/decide';
import type { Identity } from '../../src/engine/identity/identity';
import type { Policy } from '../../src/engine/policy/model';
import { describeOpenAICall } from '../../src/providers/openai/request';
import { MemoryStore } from '../../src/store/memory-store';
import { referencePolicy } from './policy';

export function person(user: string, policy: Policy, agent = 'default', extraRoles: string[] = []): Identity {
  return { user, agent, session: `s-${user}`, roles: [...(policy.identity.roles.get(user) ?? []), ...extraRoles], issuer: 'tollgate' };
}

export function chat(model: string, content: string, extra: Record<string, unknown> = {}): ModelCall {
  return describeOpenAICall('openai', '/v1/chat/completions', 'POST', { model, messages: [{ role: 'user', content }], ...extra });
}

export function engineFor(policy: Policy = referencePolicy()): { engine: Engine; store: MemoryStore; policy: Policy } {
  const store = new MemoryStore();
  return { engine: new Engine(policy, store), store, policy };
}

export function limitOf(d: Decision, rule: string): Decision['limits'][number] {
  const l = d.limits.find((x) => x.rule === rule);
  if (!l) throw new Error(`no limit ${rule} in decision: ${d.limits.map((x) => x.rule).join(', ')}`);
  return l;
}
