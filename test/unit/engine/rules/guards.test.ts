import assert from 'node:assert/strict';
import type { Policy } from '../../../../src/engine/policy/model';
import { AgentNameGuard } from '../../../../src/engine/rules/agent-name-guard';
import type { PlannedCharge } from '../../../../src/engine/rules/charge';
import { TraceGuard } from '../../../../src/engine/rules/trace-guard';
import { referencePolicy } from '../../../helpers/policy';
import { facts, who } from './facts';

function withGuards(maxCallsPerTrace: number | undefined, maxAgentsPerUser: number | undefined): Policy {
  const p = referencePolicy();
  return { ...p, guards: { ...p.guards, maxCallsPerTrace, traceTtlMs: 60_000 }, identity: { ...p.identity, maxAgentsPerUser } };
}

describe('rules: guards', () => {
  it('switches each guard on only when the bundle sets it', () => {
    assert.equal(TraceGuard.compile(withGuards(undefined, undefined)), undefined);
    assert.equal(AgentNameGuard.compile(withGuards(undefined, undefined)), undefined);
    assert.ok(TraceGuard.compile(withGuards(5, undefined)));
    assert.ok(AgentNameGuard.compile(withGuards(undefined, 3)));
  });

  const traces: readonly { name: string; trace?: string; charges: readonly string[] }[] = [
    { name: 'charges a call with a trace id to its trace', trace: '0af7', charges: ['max_calls_per_trace#trace:0af7'] },
    { name: 'does not count a call without a trace id', charges: [] },
  ];
  for (const c of traces) {
    it(`trace guard: ${c.name}`, () => {
      const out: PlannedCharge[] = [];
      TraceGuard.compile(withGuards(5, undefined))!.plan(facts({ trace: c.trace }), out);
      assert.deepEqual(out.map((p) => p.storeKey), c.charges);
      for (const p of out) assert.deepEqual({ spec: p.spec, amount: p.amount, unit: p.unit }, { spec: { type: 'trace', ttlMs: 60_000, limit: 5 }, amount: 1, unit: 'requests' });
    });
  }

  const agents: readonly { name: string; asserted: boolean; charges: readonly string[] }[] = [
    { name: 'counts a name the caller picked', asserted: true, charges: ['max_agents_per_user#user:bob@acme.dev'] },
    { name: 'does not count an agent the token vouches for', asserted: false, charges: [] },
  ];
  for (const c of agents) {
    it(`agent-name guard: ${c.name}`, () => {
      const out: PlannedCharge[] = [];
      AgentNameGuard.compile(withGuards(undefined, 3))!.plan(facts({ identity: who('bob@acme.dev', { agent: 'a1', agentAsserted: c.asserted }) }), out);
      assert.deepEqual(out.map((p) => p.storeKey), c.charges);
      for (const p of out) assert.deepEqual(p.spec, { type: 'distinct', windowMs: 3_600_000, limit: 3, member: 'a1' });
    });
  }

  it('refuses past the trace guard as a trace refusal, past the agent cap as a rate limit, each saying why', () => {
    const trace = TraceGuard.compile(withGuards(5, undefined))!;
    const names = AgentNameGuard.compile(withGuards(undefined, 3))!;
    assert.deepEqual([trace.refusal, names.refusal], ['trace', 'rate-limit']);
    const t: PlannedCharge[] = [];
    trace.plan(facts({ trace: '0af7' }), t);
    assert.match(trace.explain(t[0]!, { before: 5, after: 5, limit: 5 }, who(), null), /^trace 0af7 has made 5 model calls.*max_calls_per_trace = 5\); a loop or recursion is likely$/);
    const a: PlannedCharge[] = [];
    const id = who('bob@acme.dev', { agent: 'a4', agentAsserted: true });
    names.plan(facts({ identity: id }), a);
    assert.match(names.explain(a[0]!, { before: 3, after: 3, limit: 3 }, id, 60_000), /bob@acme\.dev has used 3 agent names.*\(3\) allows, and 'a4' would be one more: reuse a name; it frees up in 60s/);
  });

  it('restores each guard\'s accumulator for the ledger\'s records', () => {
    assert.deepEqual(TraceGuard.compile(withGuards(5, undefined))!.restored(), { spec: { type: 'trace', ttlMs: 60_000, limit: 5 }, unit: 'requests' });
    assert.deepEqual(AgentNameGuard.compile(withGuards(undefined, 3))!.restored('a2'), { spec: { type: 'distinct', windowMs: 3_600_000, limit: 3, member: 'a2' }, unit: 'requests' });
  });
});
