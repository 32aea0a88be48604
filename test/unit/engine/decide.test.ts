import assert from 'node:assert/strict';
import { withAgent } from '../../../src/engine/identity/identity';
import { describeAnthropicCall } from '../../../src/providers/anthropic/request';
import { chat, engineFor, limitOf, person } from '../../helpers/engine';
import { NOW, policyFrom, referenceText } from '../../helpers/policy';

const MIN = 60_000;
const HOUR = 60 * MIN;

describe('decide() with the reference bundle', () => {
  it('allows an entitled request and reports every matching rule with its key', async () => {
    const { engine, policy } = engineFor();
    const d = await engine.decide({ identity: person('bob@acme.dev', policy), call: chat('gpt-4o-mini', 'hello', { max_tokens: 100 }) }, NOW);
    assert.equal(d.outcome, 'allow');
    assert.equal(d.status, 200);
    assert.equal(d.rule, null);
    assert.deepEqual(d.limits.map((l) => `${l.rule} ${l.key}`), [
      'user-rate user:bob@acme.dev', 'agent-burst agent:bob@acme.dev/default', 'user-tokens user:bob@acme.dev', 'user-daily user:bob@acme.dev', 'team-monthly role:ml-engineers',
    ]);
    assert.deepEqual({ before: limitOf(d, 'agent-burst').before, after: limitOf(d, 'agent-burst').after, limit: limitOf(d, 'agent-burst').limit }, { before: 0, after: 1, limit: 20 });
    assert.equal(d.reserved.output_tokens, 100);
    assert.equal(d.remaining.requests, 19);
    assert.equal(d.remaining.tokens, 200000 - (d.reserved.input_tokens + 100));
    assert.ok(d.hold);
  });

  it('refuses the 21st request of a burst with retry-after of one refill, then admits after it', async () => {
    const { engine, policy } = engineFor();
    const who = person('bob@acme.dev', policy);
    for (let i = 0; i < 20; i++) assert.equal((await engine.decide({ identity: who, call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, NOW)).outcome, 'allow');
    const refused = await engine.decide({ identity: who, call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, NOW);
    assert.equal(refused.outcome, 'refuse');
    assert.equal(refused.status, 429);
    assert.equal(refused.refusal, 'rate-limit');
    assert.equal(refused.rule, 'agent-burst');
    assert.equal(refused.retryAfterS, 1, '60/min refills one request per second');
    assert.match(refused.reason, /limit 'agent-burst'.*agent:bob@acme.dev\/default.*20 of 20 requests used.*frees up in 1s/);
    assert.equal((await engine.decide({ identity: who, call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, NOW + 999)).outcome, 'refuse');
    assert.equal((await engine.decide({ identity: who, call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, NOW + 1000)).outcome, 'allow');
  });

  it('gives each agent of a person its own burst, but one user-tokens window', async () => {
    const { engine, policy } = engineFor();
    for (let i = 0; i < 20; i++) await engine.decide({ identity: person('bob@acme.dev', policy, 'a'), call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, NOW);
    const other = await engine.decide({ identity: person('bob@acme.dev', policy, 'b'), call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, NOW);
    assert.equal(other.outcome, 'allow');
    assert.equal(limitOf(other, 'agent-burst').before, 0);
    assert.ok(limitOf(other, 'user-tokens').before > 0, 'tokens of agent a count for the same person');
  });

  it('applies the batch-eval exception (burst 500) and records it, until it expires', async () => {
    // The person's own user-rate (burst 60) still holds across every agent; without it the agent's burst shows.
    const { engine, policy } = engineFor(policyFrom(referenceText.replace(/ {2}- id: user-rate[^]*?cost: requests\n/, '')));
    const batch = person('bob@acme.dev', policy, 'batch-eval');
    let last;
    for (let i = 0; i < 500; i++) last = await engine.decide({ identity: batch, call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, NOW);
    assert.equal(last!.outcome, 'allow');
    assert.deepEqual(last!.exception, { id: 'exception-1', reason: 'Q4 evaluation run, approved by the platform team' });
    const refused = await engine.decide({ identity: batch, call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, NOW);
    assert.equal(refused.rule, 'agent-burst');
    assert.match(refused.reason, /with exception exception-1/);
    const expired = engineFor(policy);
    const afterExpiry = Date.parse('2027-07-01T00:00:00Z');
    for (let i = 0; i < 20; i++) await expired.engine.decide({ identity: batch, call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, afterExpiry);
    const d = await expired.engine.decide({ identity: batch, call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, afterExpiry);
    assert.equal(d.outcome, 'refuse', 'an expired exception no longer applies');
    assert.equal(d.exception, undefined);
  });

  it('refuses a person more agent names per hour than identity.max_agents_per_user, naming the cap', async () => {
    const { engine, policy } = engineFor();
    const named = (agent: string, at: number): Promise<Awaited<ReturnType<typeof engine.decide>>> =>
      engine.decide({ identity: withAgent(person('bob@acme.dev', policy), agent), call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, at);
    for (let i = 0; i < 16; i++) assert.equal((await named(`rotating-${i}`, NOW + i)).outcome, 'allow', `name ${i}`);
    const refused = await named('rotating-16', NOW + 100);
    assert.equal(refused.outcome, 'refuse');
    assert.equal(refused.status, 429);
    assert.equal(refused.refusal, 'rate-limit');
    assert.equal(refused.rule, 'max_agents_per_user');
    assert.match(refused.reason, /bob@acme\.dev has used 16 agent names.*max_agents_per_user \(16\).*'rotating-16' would be one more/);
    assert.equal(refused.retryAfterS, 3600, 'the first name leaves the hour an hour after it was used');
    assert.equal((await named('rotating-3', NOW + 200)).outcome, 'allow', 'a name already in use goes on working');
    assert.equal((await engine.decide({ identity: person('bob@acme.dev', policy, 'from-token'), call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, NOW + 300)).outcome, 'allow',
      'an agent the token names is not a name the caller picked');
    assert.equal((await named('rotating-16', NOW + HOUR)).outcome, 'allow', 'an hour later the first name has left');
  });

  it('grants an agent exception only to an agent the token vouches for, never to one a header claims', async () => {
    const { engine, policy } = engineFor();
    const claimed = withAgent(person('carol@acme.dev', policy), 'batch-eval');
    assert.equal(claimed.agentAsserted, true);
    for (let i = 0; i < 20; i++) await engine.decide({ identity: claimed, call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, NOW);
    const d = await engine.decide({ identity: claimed, call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, NOW);
    assert.equal(d.outcome, 'refuse', 'the header gets the normal burst of 20, not the exception\'s 500');
    assert.equal(d.exception, undefined);
    const vouched = { ...person('dave@acme.dev', policy), agent: 'batch-eval' };
    assert.equal(withAgent(vouched, 'batch-eval'), vouched, 'repeating the token\'s own agent in the header changes nothing');
    for (let i = 0; i < 21; i++) assert.equal((await engine.decide({ identity: vouched, call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, NOW)).outcome, 'allow');
  });

  it('refuses a model the person is not entitled to with 403 and no retry-after', async () => {
    const { engine, policy } = engineFor();
    const d = await engine.decide({ identity: person('alice@acme.dev', policy), call: chat('gpt-4o', 'x') }, NOW);
    assert.equal(d.outcome, 'refuse');
    assert.equal(d.status, 403);
    assert.equal(d.refusal, 'entitlement');
    assert.equal(d.retryAfterS, undefined);
    assert.match(d.reason, /alice@acme.dev is not entitled to model 'gpt-4o'/);
    assert.equal((await engine.decide({ identity: person('bob@acme.dev', policy), call: chat('gpt-4o', 'x') }, NOW)).outcome, 'allow', 'ml-engineers may use any model');
    assert.equal((await engine.decide({ identity: person('alice@acme.dev', policy), call: describeAnthropicCall('anthropic', '/v1/messages', 'POST', { model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }) }, NOW)).outcome, 'allow', 'globs match');
  });

  it('refuses a route outside the entitlement', async () => {
    const { engine, policy } = engineFor();
    const call = { ...chat('gpt-4o-mini', 'x'), route: '/v1/audio/speech' };
    const d = await engine.decide({ identity: person('alice@acme.dev', policy), call }, NOW);
    assert.equal(d.status, 403);
    assert.match(d.reason, /route \/v1\/audio\/speech/);
  });

  it('refuses a prompt over max_input_tokens (400, with its size and the cap) and clamps max_tokens to max_output_tokens', async () => {
    const { engine, policy } = engineFor();
    const big = await engine.decide({ identity: person('alice@acme.dev', policy), call: chat('gpt-4o-mini', 'word '.repeat(101000)) }, NOW);
    assert.equal(big.status, 400);
    assert.deepEqual(big.errorDetails, { inputTokens: big.call.inputTokens, maxInputTokens: 100000 });
    assert.equal(big.refusal, 'context');
    assert.equal(big.rule, 'entitlements.max_input_tokens');
    const clamped = await engine.decide({ identity: person('alice@acme.dev', policy), call: chat('gpt-4o-mini', 'x', { max_tokens: 10000 }) }, NOW);
    assert.equal(clamped.outputCap, 8192);
    assert.equal(clamped.reserved.output_tokens, 8192);
    const absent = await engine.decide({ identity: person('alice@acme.dev', policy), call: chat('gpt-4o-mini', 'x') }, NOW);
    assert.equal(absent.reserved.output_tokens, 1024, 'reserve_output_tokens when the request names no maximum');
    assert.equal(absent.outputCap, 8192, 'the clamp is written into a request that names no maximum');
    const small = await engine.decide({ identity: person('alice@acme.dev', policy), call: chat('gpt-4o-mini', 'x', { max_tokens: 10 }) }, NOW);
    assert.equal(small.outputCap, undefined);
  });

  it('takes detections made off the request thread instead of reading the texts again', async () => {
    const { engine, policy } = engineFor();
    const who = person('bob@acme.dev', policy);
    // The texts say nothing; the detections made beforehand say e-mail, and they decide.
    const given = await engine.decide({ identity: who, call: { ...chat('gpt-4o-mini', 'hello there', { max_tokens: 10 }), texts: [] }, detected: ['email'] }, NOW);
    assert.deepEqual(given.classification, ['pii']);
    assert.equal(given.weight, 5);
    const none = await engine.decide({ identity: who, call: chat('gpt-4o-mini', 'mail jo@acme.dev', { max_tokens: 10 }), detected: [] }, NOW);
    assert.deepEqual(none.classification, [], 'an empty list means the detectors ran and found nothing');
    const declared = await engine.decide({ identity: who, call: chat('gpt-4o-mini', 'x', { max_tokens: 10 }), detected: [], declaredLabels: ['pii'] }, NOW);
    assert.deepEqual(declared.classification, ['pii'], 'a declared label still adds');
  });

  it('weights PII requests 5x in tokens and USD, and counts them in pii-flow (5 per minute)', async () => {
    const { engine, policy } = engineFor();
    const who = person('bob@acme.dev', policy);
    const plain = await engine.decide({ identity: who, call: chat('gpt-4o-mini', 'hello there', { max_tokens: 10 }) }, NOW);
    const pii = await engine.decide({ identity: who, call: chat('gpt-4o-mini', 'mail jo@acme.dev', { max_tokens: 10 }) }, NOW);
    assert.deepEqual(pii.classification, ['pii']);
    const tokensOf = (d: typeof pii): number => limitOf(d, 'user-tokens').after - limitOf(d, 'user-tokens').before;
    assert.equal(tokensOf(pii), (pii.reserved.input_tokens + 10) * 5);
    assert.equal(tokensOf(plain), plain.reserved.input_tokens + 10);
    assert.ok(Math.abs(pii.reserved.usd - ((pii.reserved.input_tokens * 0.15 + 10 * 0.6) / 1e6) * 5) < 1e-12);
    assert.equal(limitOf(pii, 'pii-flow').after, 1, 'request counts are not weighted');
    assert.throws(() => limitOf(plain, 'pii-flow'), 'pii-flow counts only PII requests');
    for (let i = 0; i < 4; i++) await engine.decide({ identity: who, call: chat('gpt-4o-mini', 'ssn 123-45-6789', { max_tokens: 1 }) }, NOW + i * 1000);
    const sixth = await engine.decide({ identity: who, call: chat('gpt-4o-mini', 'ssn 123-45-6789', { max_tokens: 1 }) }, NOW + 10_000);
    assert.equal(sixth.rule, 'pii-flow');
    assert.equal(sixth.retryAfterS, 50, 'the first PII request leaves the 1-minute window 50s later');
    assert.equal((await engine.decide({ identity: who, call: chat('gpt-4o-mini', 'ssn 123-45-6789', { max_tokens: 1 }) }, NOW + MIN + 60)).outcome, 'allow');
  });

  it('counts a role cohort per role, and does not count a person without the role', async () => {
    const { engine, policy } = engineFor();
    const alice = await engine.decide({ identity: person('alice@acme.dev', policy), call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, NOW);
    assert.equal(limitOf(alice, 'marketing-cohort').key, 'role:marketing-analysts');
    const bob = await engine.decide({ identity: person('bob@acme.dev', policy), call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, NOW);
    assert.ok(!bob.limits.some((l) => l.rule === 'marketing-cohort'));
    const carol = await engine.decide({ identity: person('carol@acme.dev', policy), call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, NOW);
    assert.ok(!carol.limits.some((l) => l.rule === 'team-monthly'), 'a person with no role is not counted by a per-role budget');
  });

  it('charges both roles of a person holding two matching roles', async () => {
    const { engine, policy } = engineFor();
    const d = await engine.decide({ identity: person('alice@acme.dev', policy, 'default', ['ml-engineers']), call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, NOW);
    assert.deepEqual(d.limits.filter((l) => l.rule === 'team-monthly').map((l) => l.key).sort(), ['role:marketing-analysts', 'role:ml-engineers']);
  });

  it('keys a combined per on the tuple', async () => {
    const text = referenceText.replace('    per: user\n    algorithm: sliding-window\n    window: 1h', '    per: [user, agent]\n    algorithm: sliding-window\n    window: 1h');
    const { engine, policy } = engineFor(policyFrom(text));
    const d = await engine.decide({ identity: person('bob@acme.dev', policy, 'nb'), call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, NOW);
    assert.equal(limitOf(d, 'user-tokens').key, 'user:bob@acme.dev,agent:bob@acme.dev/nb');
  });

  it('downgrades once the daily budget is spent, alerting at 50% and 80% once each', async () => {
    const { engine, policy } = engineFor();
    const bob = person('bob@acme.dev', policy);
    const alerts: number[] = [];
    // Four calls of gpt-4o that really cost $1.25 each (100k in, 100k out), an hour apart so the
    // token window has emptied between them.
    for (let i = 0; i < 4; i++) {
      const d = await engine.decide({ identity: bob, call: chat('gpt-4o', 'x', { max_tokens: 10 }) }, NOW + i * (HOUR + MIN));
      assert.equal(d.outcome, 'allow', `call ${i}`);
      const s = await engine.settle(d, { input_tokens: 100_000, output_tokens: 100_000 }, NOW + i * (HOUR + MIN) + 1);
      assert.ok(Math.abs(s.usd - 1.25) < 1e-9);
      alerts.push(...s.alerts.filter((a) => a.rule === 'user-daily').map((a) => a.threshold));
    }
    assert.deepEqual(alerts, [0.5, 0.8]);
    const t = NOW + 4 * (HOUR + MIN);
    const d = await engine.decide({ identity: bob, call: chat('gpt-4o', 'x', { max_tokens: 10 }) }, t);
    assert.equal(d.outcome, 'downgrade');
    assert.equal(d.status, 200);
    assert.equal(d.model, 'gpt-4o');
    assert.equal(d.modelServed, 'gpt-4o-mini');
    assert.equal(d.rule, 'user-daily');
    assert.ok(limitOf(d, 'user-daily').after > 5, 'the downgraded call still spends against the budget');
    const next = await engine.decide({ identity: bob, call: chat('gpt-4o-mini', 'x', { max_tokens: 10 }) }, t + 1);
    assert.equal(next.outcome, 'allow', 'the downgrade target itself is not refused by its own budget');
  });

  it('offers a downgrade only to a model the call can be served (an Azure deployment in the path cannot change)', async () => {
    const { engine, policy } = engineFor();
    const bob = person('bob@acme.dev', policy);
    for (let i = 0; i < 4; i++) {
      const d = await engine.decide({ identity: bob, call: chat('gpt-4o', 'x', { max_tokens: 10 }) }, NOW + i * (HOUR + MIN));
      await engine.settle(d, { input_tokens: 100_000, output_tokens: 100_000 }, NOW + i * (HOUR + MIN) + 1);
    }
    const t = NOW + 4 * (HOUR + MIN);
    const fixed = await engine.decide({ identity: bob, call: { ...chat('gpt-4o', 'x', { max_tokens: 10 }), servedAs: { 'gpt-4o': 'my-gpt4o' } } }, t);
    assert.equal(fixed.outcome, 'refuse');
    assert.equal(fixed.rule, 'user-daily');
    const servable = await engine.decide({ identity: bob, call: { ...chat('gpt-4o', 'x', { max_tokens: 10 }), servedAs: { 'gpt-4o': 'my-gpt4o', 'gpt-4o-mini': 'my-mini' } } }, t);
    assert.equal(servable.outcome, 'downgrade');
    assert.equal(servable.modelServed, 'gpt-4o-mini');
  });

  it('refuses with insufficient budget and retry-after at the period end for a refusing budget', async () => {
    const text = referenceText.replace('limit_usd: 500', 'limit_usd: 0.01');
    const { engine, policy } = engineFor(policyFrom(text));
    const bob = person('bob@acme.dev', policy);
    const first = await engine.decide({ identity: bob, call: chat('gpt-4o', 'x', { max_tokens: 500 }) }, NOW);
    assert.equal(first.outcome, 'allow');
    const d = await engine.decide({ identity: bob, call: chat('gpt-4o', 'x', { max_tokens: 500 }) }, NOW);
    assert.equal(d.outcome, 'refuse');
    assert.equal(d.refusal, 'budget');
    assert.equal(d.rule, 'team-monthly');
    assert.equal(d.retryAfterS, (Date.parse('2026-12-01T00:00:00Z') - NOW) / 1000);
  });

  it('omits retry-after when the request alone exceeds the limit', async () => {
    const text = referenceText.replace('limit: 200000', 'limit: 1000');
    const { engine, policy } = engineFor(policyFrom(text));
    const d = await engine.decide({ identity: person('bob@acme.dev', policy), call: chat('gpt-4o-mini', 'x', { max_tokens: 2000 }) }, NOW);
    assert.equal(d.rule, 'user-tokens');
    assert.equal(d.retryAfterS, undefined);
    assert.match(d.reason, /waiting will not help/);
  });

  it('refuses the call past max_calls_per_trace, with no retry-after', async () => {
    const { engine, policy } = engineFor();
    const who = person('bob@acme.dev', policy, 'batch-eval');
    const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
    for (let i = 0; i < 50; i++) assert.equal((await engine.decide({ identity: who, trace, call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, NOW)).outcome, 'allow');
    const d = await engine.decide({ identity: who, trace, call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, NOW);
    assert.equal(d.rule, 'max_calls_per_trace');
    assert.equal(d.refusal, 'trace');
    assert.equal(d.retryAfterS, undefined);
    assert.equal((await engine.decide({ identity: who, trace: 'another', call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, NOW)).outcome, 'allow');
  });

  it('changes no accumulator when it refuses (all-or-nothing)', async () => {
    const text = referenceText.replace('limit: 200000', 'limit: 1000');
    const { engine, policy, store } = engineFor(policyFrom(text));
    const bob = person('bob@acme.dev', policy);
    const ok = await engine.decide({ identity: bob, call: chat('gpt-4o-mini', 'x', { max_tokens: 500 }) }, NOW);
    const size = store.size;
    const specs = ok.hold!.charges.map((c) => ({ key: c.key, spec: c.spec }));
    const before = store.peekNow(specs, NOW);
    const refused = await engine.decide({ identity: bob, call: chat('gpt-4o-mini', 'x', { max_tokens: 600 }) }, NOW);
    assert.equal(refused.rule, 'user-tokens');
    assert.deepEqual(store.peekNow(specs, NOW), before);
    assert.equal(store.size, size);
    assert.ok(refused.limits.every((l) => l.before === l.after));
  });

  it('settles the real usage and releases the rest; unknown usage is charged at the reserved worst case', async () => {
    const { engine, policy } = engineFor();
    const bob = person('bob@acme.dev', policy);
    const d = await engine.decide({ identity: bob, call: chat('gpt-4o-mini', 'x', { max_tokens: 1000 }) }, NOW);
    const s = await engine.settle(d, { input_tokens: 10, output_tokens: 20 }, NOW + 5);
    assert.equal(limitOf({ ...d, limits: s.limits }, 'user-tokens').after, 30);
    assert.ok(Math.abs(s.usd - (10 * 0.15 + 20 * 0.6) / 1e6) < 1e-15);
    const d2 = await engine.decide({ identity: bob, call: chat('gpt-4o-mini', 'x', { max_tokens: 1000 }) }, NOW + 10);
    const s2 = await engine.settle(d2, undefined, NOW + 11);
    assert.equal(s2.usageKnown, false);
    assert.equal(limitOf({ ...d2, limits: s2.limits }, 'user-tokens').after, 30 + d2.reserved.input_tokens + 1000);
    const d3 = await engine.decide({ identity: bob, call: chat('gpt-4o-mini', 'x', { max_tokens: 1000 }) }, NOW + 20);
    await engine.release(d3, NOW + 21);
    const d4 = await engine.decide({ identity: bob, call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, NOW + 22);
    assert.equal(limitOf(d4, 'user-tokens').before, 30 + d2.reserved.input_tokens + 1000, 'a released hold leaves nothing behind');
  });

  it('records a shadow refusal but still holds and charges the request', async () => {
    const { engine, policy } = engineFor();
    const bob = person('bob@acme.dev', policy);
    for (let i = 0; i < 20; i++) await engine.decide({ identity: bob, shadow: true, call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, NOW);
    const d = await engine.decide({ identity: bob, shadow: true, call: chat('gpt-4o-mini', 'x', { max_tokens: 1 }) }, NOW);
    assert.equal(d.outcome, 'refuse');
    assert.equal(d.shadow, true);
    assert.equal(d.rule, 'agent-burst');
    assert.ok(d.hold, 'the shadow request goes through, so it is charged');
    const e = await engine.decide({ identity: person('alice@acme.dev', policy), shadow: true, call: chat('gpt-4o', 'x') }, NOW);
    assert.equal(e.outcome, 'refuse');
    assert.equal(e.shadow, true);
    assert.equal(e.modelServed, 'gpt-4o');
  });

  it('lets GET /v1/models through without touching any accumulator', async () => {
    const { engine, policy, store } = engineFor();
    const d = await engine.decide({ identity: person('alice@acme.dev', policy), call: { provider: 'openai', style: 'openai', route: '/v1/models', kind: 'passthrough', stream: false, inputTokens: 0, choices: 1, texts: [] } }, NOW);
    assert.equal(d.outcome, 'allow');
    assert.equal(store.size, 0);
  });
});
