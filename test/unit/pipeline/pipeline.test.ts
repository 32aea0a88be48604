import assert from 'node:assert/strict';
import type { Identity } from '../../../src/engine/identity/identity';
import type { CallEventMap, CallEventName, Recording } from '../../../src/pipeline/call-events';
import { CallEvents } from '../../../src/pipeline/call-events';
import type { CallPolicy } from '../../../src/pipeline/call-context';
import { ProxyError } from '../../../src/pipeline/errors';
import { CallPipeline } from '../../../src/pipeline/pipeline';
import { describeRequest } from '../../../src/proxy/describe/describe';
import { engineFor } from '../../helpers/engine';
import { answering, failing, FakeCall } from '../../helpers/fake-call';
import { NOW } from '../../helpers/policy';

const KEY = ['sk', 'unit', 'upstream', 'key0123456789'].join('-');

const person: Identity = { user: 'bob@acme.dev', agent: 'nb', session: 's-1', roles: ['ml-engineers'], issuer: 'tollgate' };

interface Harness {
  readonly pipeline: CallPipeline;
  readonly rules: CallPolicy;
  /** Every event, by name, in the order emitted. */
  readonly seen: CallEventName[];
  readonly events: { [K in CallEventName]: CallEventMap[K][] };
}

/** A pipeline whose events a fake ledger records (every record durable, ids rec-1, rec-2, ...). */
function harness(identity: Identity = person): Harness {
  const { engine, policy } = engineFor();
  const events = new CallEvents((err) => assert.fail(err));
  const seen: CallEventName[] = [];
  const log: Harness['events'] = { unverified: [], failed: [], decided: [], refused: [], released: [], forwarded: [], settled: [] };
  let n = 0;
  const recording = (): Recording => ({ ok: true, id: `rec-${++n}`, durable: Promise.resolve(true) });
  for (const name of Object.keys(log) as CallEventName[]) {
    events.on(name, (e: CallEventMap[typeof name]) => {
      seen.push(name);
      (log[name] as unknown[]).push(e);
      if ('recordedAs' in e) e.recordedAs(recording());
      if ('countedIn' in e) e.countedIn(Promise.resolve(`rec-${++n}`));
    });
  }
  let clock = NOW;
  const pipeline = new CallPipeline({
    events,
    describe: describeRequest,
    ledgerHealth: () => ({ ok: true }),
    isLocalHold: () => false,
    env: { OPENAI_API_KEY: KEY, ANTHROPIC_API_KEY: KEY },
    upstreamOverrides: new Map([['openai', 'http://upstream.test/']]),
    shadow: false,
    pseudonymOf: (user) => `pseudonym-of-${user}`,
    clock: () => (clock += 10),
    log: { warn: () => undefined, error: () => undefined },
  });
  const rules: CallPolicy = { policy, engine, verifier: { verify: () => Promise.resolve(identity) } };
  return { pipeline, rules, seen, events: log };
}

const route = { provider: 'openai', path: '/v1/chat/completions', query: '' };
const chat = (model: string): unknown => ({ model, messages: [{ role: 'user', content: 'hello there' }], max_tokens: 100 });

describe('the call pipeline', () => {
  it('identifies, describes, decides, forwards and settles an allowed call, telling each step as an event', async () => {
    const h = harness();
    const call = new FakeCall(chat('gpt-4o-mini'), answering({ input: 12, output: 34 }));
    await h.pipeline.run(call, route, h.rules);

    assert.deepEqual(h.seen, ['decided', 'forwarded', 'settled']);
    const decided = h.events.decided[0]!.call;
    assert.equal(decided.identity.user, 'bob@acme.dev');
    assert.equal(decided.call.model, 'gpt-4o-mini');
    assert.equal(decided.decision.outcome, 'allow');
    assert.equal(h.events.forwarded[0]!.call, decided, 'one context follows the call through');
    assert.equal(h.events.forwarded[0]!.note, undefined);

    assert.equal(call.sent!.url.toString(), 'http://upstream.test/v1/chat/completions');
    assert.equal(call.sent!.headers.authorization, `Bearer ${KEY}`);
    assert.equal(call.sent!.headers['x-tollgate-user'], 'bob@acme.dev');
    const sentBody = JSON.parse(Buffer.concat(call.sent!.body).toString()) as { user?: string };
    assert.equal(sentBody.user, 'pseudonym-of-bob@acme.dev');
    assert.equal(call.relayed!.headers['x-tollgate-decision'], 'rec-1', 'the answer names the decision record');
    assert.deepEqual(call.relayed!.secrets, [KEY]);

    const settled = h.events.settled[0]!;
    assert.equal(settled.call, decided);
    assert.equal(settled.status, 200);
    assert.equal(settled.aborted, false);
    assert.deepEqual(settled.settlement.usage, { input_tokens: 12, output_tokens: 34, tool_calls: 0, tool_names: [] });
    assert.equal(settled.settlement.usageKnown, true);
    assert.deepEqual(call.answers, [], 'the relay answered, not the pipeline');
  });

  it('refuses a call the decision refuses: recorded, answered in the provider shape, nothing sent upstream', async () => {
    const h = harness({ ...person, user: 'alice@acme.dev', roles: ['marketing-analysts'] });
    const call = new FakeCall(chat('gpt-4o'), () => assert.fail('a refused call must not go upstream'));
    await h.pipeline.run(call, route, h.rules);

    assert.deepEqual(h.seen, ['decided', 'refused']);
    assert.equal(h.events.refused[0]!.call.decision.outcome, 'refuse');
    assert.equal(call.sent, undefined);
    const [answer] = call.answers;
    assert.equal(answer!.status, 403);
    assert.equal(answer!.headers['x-tollgate-decision'], 'rec-1');
    assert.ok(answer!.headers['x-tollgate-rule']);
    assert.match(answer!.body.error.message, /^Tollgate refused this request: /);
  });

  it('settles a call whose client left before the upstream answered at nothing, and answers no one', async () => {
    const h = harness();
    const call = new FakeCall(chat('gpt-4o-mini'), failing(new ProxyError('client-closed', 'the client closed the connection before the call was sent'), false));
    await h.pipeline.run(call, route, h.rules);

    assert.deepEqual(h.seen, ['decided', 'forwarded', 'settled']);
    const settled = h.events.settled[0]!;
    assert.equal(settled.status, 499);
    assert.equal(settled.aborted, true);
    assert.deepEqual(settled.settlement.usage, { input_tokens: 0, output_tokens: 0, tool_calls: 0 }, 'a call that never reached the upstream costs nothing');
    assert.deepEqual(call.answers, []);
  });

  it('settles a call the upstream failed after it was sent at what it held, and answers with the failure', async () => {
    const h = harness();
    const call = new FakeCall(chat('gpt-4o-mini'), failing(new ProxyError('upstream-unreachable', 'the upstream http://upstream.test is unreachable (ECONNRESET)'), true));
    await h.pipeline.run(call, route, h.rules);

    assert.deepEqual(h.seen, ['decided', 'forwarded', 'settled']);
    const settled = h.events.settled[0]!;
    assert.equal(settled.status, 502);
    assert.equal(settled.aborted, false);
    assert.equal(settled.settlement.usageKnown, false, 'unknown is not zero: it is settled at what it held');
    assert.equal(settled.settlement.usage.output_tokens, settled.call.decision.reserved.output_tokens);
    const [answer] = call.answers;
    assert.equal(answer!.status, 502);
    assert.equal(answer!.headers['x-tollgate-decision'], 'rec-1');
    assert.match(answer!.body.error.message, /unreachable/);
  });

  it('refuses a call nothing can record, and never sends it upstream', async () => {
    const h = harness();
    const events = new CallEvents();
    const pipeline = new CallPipeline({
      events, describe: describeRequest, ledgerHealth: () => ({ ok: true }), isLocalHold: () => false, env: { OPENAI_API_KEY: KEY },
      upstreamOverrides: new Map(), shadow: false, pseudonymOf: (u) => u, clock: () => NOW, log: { warn: () => undefined, error: () => undefined },
    });
    const call = new FakeCall(chat('gpt-4o-mini'), () => assert.fail('an unrecorded call must not go upstream'));
    await pipeline.run(call, route, h.rules);
    assert.equal(call.answers[0]!.status, 503);
    assert.equal(call.sent, undefined);
    const unroutable = new FakeCall(chat('gpt-4o-mini'), () => assert.fail('not sent'));
    await pipeline.run(unroutable, { ...route, provider: 'nowhere' }, h.rules);
    assert.equal(unroutable.answers[0]!.status, 503, 'nor is a refusal nothing can count answered as if it were');
  });

  it('counts a call to a provider the bundle does not have into the refusals, without a decision', async () => {
    const h = harness();
    const call = new FakeCall(chat('gpt-4o-mini'), () => assert.fail('not sent'), {});
    await h.pipeline.run(call, { ...route, provider: 'nowhere' }, h.rules);
    assert.deepEqual(h.seen, ['unverified']);
    assert.equal(h.events.unverified[0]!.status, 404);
    assert.equal(call.answers[0]!.status, 404);
    assert.equal(call.answers[0]!.headers['x-tollgate-decision'], 'rec-1');
  });
});
