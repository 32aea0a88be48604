import assert from 'node:assert/strict';
import type { Identity } from '../../../src/engine/identity/identity';
import { CallEvents } from '../../../src/pipeline/call-events';
import type { CallPolicy } from '../../../src/pipeline/call-context';
import { CallPipeline } from '../../../src/pipeline/pipeline';
import { describeRequest } from '../../../src/proxy/describe/describe';
import { recallAccumulators } from '../../../src/proxy/restore';
import { CallRecorder } from '../../../src/store/ledger/call-recorder';
import { Ledger } from '../../../src/store/ledger/ledger';
import type { AlertRecord, AuditRecord, DecisionRecord, SettleRecord } from '../../../src/contracts/audit-records';
import { AccumulatorReadModel } from '../../../src/views/accumulator-read-model';
import { engineFor } from '../../helpers/engine';
import { answering, FakeCall, unreachable } from '../../helpers/fake-call';
import { NOW } from '../../helpers/policy';
import { eventually } from '../../helpers/poll';
import { tempDir } from './fixtures';

const quiet = { warn: (): void => undefined, error: (): void => undefined };
const route = { provider: 'openai', path: '/v1/chat/completions', query: '' };
const chat = (model: string): unknown => ({ model, messages: [{ role: 'user', content: 'hello there' }], max_tokens: 100 });

describe('the ledger recorder of call events', () => {
  let ledger: Ledger;
  beforeEach(async () => {
    ledger = await Ledger.open(tempDir());
  });
  afterEach(() => ledger.close());

  /** A pipeline whose events the recorder writes to `ledger`; `published` is what the views were told. */
  function wired(identity: Identity): { pipeline: CallPipeline; rules: CallPolicy; published: string[]; views: AccumulatorReadModel } {
    const { engine, policy } = engineFor();
    const events = new CallEvents((err) => assert.fail(err));
    const published: string[] = [];
    new CallRecorder(ledger, { policy: () => policy, shadow: false, clock: () => NOW, log: quiet, published: (type, s) => published.push(`${type} ${s.id} ${s.settled}`) }).subscribe(events);
    const views = new AccumulatorReadModel();
    views.subscribe(events);
    const pipeline = new CallPipeline({
      events, describe: describeRequest, ledgerHealth: () => ledger.health, isLocalHold: () => false, env: { OPENAI_API_KEY: 'sk-unit-upstream-key' },
      upstreamOverrides: new Map(), shadow: false, pseudonymOf: (u) => u, clock: () => NOW, log: quiet,
    });
    return { pipeline, rules: { policy, engine, verifier: { verify: () => Promise.resolve(identity) } }, published, views };
  }

  async function records(): Promise<AuditRecord[]> {
    const all: AuditRecord[] = [];
    for await (const r of ledger.records()) all.push(r);
    return all;
  }

  const bob: Identity = { user: 'bob@acme.dev', agent: 'nb', session: 's-1', roles: ['ml-engineers'], issuer: 'tollgate' };

  it('records a forwarded call before it is relayed and its settlement after, telling the views once each is durable', async () => {
    const w = wired(bob);
    const call = new FakeCall(chat('gpt-4o-mini'), answering({ input: 12, output: 34 }));
    await w.pipeline.run(call, route, w.rules);
    const id = call.relayed!.headers['x-tollgate-decision']!;
    await eventually(() => w.published.length === 2, 'both records durable');
    assert.deepEqual(w.published, [`decision ${id} false`, `settle ${id} true`]);
    const all = await records();
    const decision = all.find((r): r is DecisionRecord => r.kind === 'decision')!;
    assert.equal(decision.id, id);
    assert.equal(decision.outcome, 'allow');
    assert.equal(decision.identity.user, 'bob@acme.dev');
    const settle = all.find((r): r is SettleRecord => r.kind === 'settle')!;
    assert.equal(settle.decision, id);
    assert.deepEqual(settle.usage, { input_tokens: 12, output_tokens: 34 });
    assert.ok(w.views.list().some((a) => a.rule === 'user-tokens' && a.key === 'user:bob@acme.dev'), 'the read model lists what the decision touched');
  });

  it('records the alert a settlement crosses, dated from the start of its budget period', async () => {
    const w = wired(bob);
    // $1.50 of input and $1.80 of output: past half of the $5 daily budget.
    await w.pipeline.run(new FakeCall(chat('gpt-4o-mini'), answering({ input: 10_000_000, output: 3_000_000 })), route, w.rules);
    await eventually(async () => (await records()).some((r) => r.kind === 'alert'), 'the alert record');
    const alert = (await records()).find((r): r is AlertRecord => r.kind === 'alert')!;
    assert.equal(alert.rule, 'user-daily');
    assert.equal(alert.key, 'user:bob@acme.dev');
    assert.equal(alert.threshold, 0.5);
    assert.equal(alert.period_start, '2026-11-23T00:00:00.000Z');
  });

  it('records a refusal and answers it with the record id', async () => {
    const w = wired({ ...bob, user: 'alice@acme.dev', roles: ['marketing-analysts'] });
    const call = new FakeCall(chat('gpt-4o'), unreachable('a refused call is not sent'));
    await w.pipeline.run(call, route, w.rules);
    const decision = (await records()).find((r): r is DecisionRecord => r.kind === 'decision')!;
    assert.equal(decision.outcome, 'refuse');
    assert.equal(call.answers[0]!.headers['x-tollgate-decision'], decision.id);
  });

  it('lists again, after a restart on a shared store, every accumulator the recorded decisions touched', async () => {
    const w = wired(bob);
    await w.pipeline.run(new FakeCall(chat('gpt-4o-mini'), answering({ input: 12, output: 34 })), route, w.rules);
    await eventually(() => w.published.length === 2, 'both records durable');
    const restarted = new AccumulatorReadModel();
    await recallAccumulators(ledger, engineFor().engine, Date.now(), restarted);
    assert.deepEqual(restarted.list(), w.views.list());
  });
});
