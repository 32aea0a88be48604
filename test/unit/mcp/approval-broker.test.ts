import { strict as assert } from 'node:assert';
import type { ApprovalEvent } from '../../../src/contracts/approvals';
import type { ApprovalGrant } from '../../../src/engine/identity/approval-token';
import { ApprovalTokenError } from '../../../src/engine/identity/approval-token';
import type { Identity } from '../../../src/engine/identity/identity';
import type { ApprovalRule, Policy } from '../../../src/engine/policy/model';
import type { ApprovalRequest } from '../../../src/proxy/mcp/approval-gate';
import { ApprovalBroker, MAX_PENDING_PER_SESSION } from '../../../src/proxy/mcp/approval-broker';
import type { Timer } from '../../../src/proxy/mcp/approval-broker';
import { policyFrom, referenceText } from '../../helpers/policy';

// The approval broker's order (rule, token, session memory, a person, nobody) and every way a wait
// ends, on a clock the test holds.

const TOOL = 'mcp__everything__get-env';

class FakeClock {
  now = Date.parse('2026-11-27T12:00:00Z');
  private timers: { at: number; fn: () => void; live: boolean }[] = [];
  readonly timer: Timer = (ms, fn) => {
    const t = { at: this.now + ms, fn, live: true };
    this.timers.push(t);
    return () => void (t.live = false);
  };
  advance(ms: number): void {
    this.now += ms;
    for (const t of this.timers.filter((x) => x.live && x.at <= this.now)) {
      t.live = false;
      t.fn();
    }
  }
}

function identity(user = 'alice@acme.dev', o: Partial<Identity> = {}): Identity {
  return { user, agent: 'claude-code', session: 'sid-1', roles: [], issuer: 'tollgate', ...o };
}

function request(o: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return { identity: identity(), session: 'mcp-session-1', server: 'everything', tool: 'get-env', toolName: TOOL, arguments: {}, argumentsSha256: 'ab'.repeat(32), ...o };
}

function grant(o: Partial<ApprovalGrant> = {}): ApprovalGrant {
  return { id: 'jti-1', user: 'alice@acme.dev', agent: null, tool: 'mcp__everything__*', issuedAt: 0, expiresAt: Number.MAX_SAFE_INTEGER, kid: 'k1', ...o };
}

/** Lets the broker's awaits run. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('approval broker', () => {
  let clock: FakeClock;
  let events: ApprovalEvent[];
  let approvers: number;
  let rules: ApprovalRule[];
  let verify: ((token: string) => Promise<ApprovalGrant>) | undefined;
  let broker: ApprovalBroker;
  const base = policyFrom(referenceText);

  beforeEach(() => {
    clock = new FakeClock();
    events = [];
    approvers = 1;
    rules = [];
    verify = undefined;
    const policy = (): Policy => ({ ...base, tools: { ...base.tools!, approvalTimeoutMs: 30_000, approvalRules: rules } });
    broker = new ApprovalBroker({
      policy, approvers: () => approvers, announce: (e) => events.push(e), clock: () => clock.now, timer: clock.timer,
      verifyToken: (token) => (verify ? verify(token) : Promise.reject(new ApprovalTokenError('malformed', 'no token here'))),
      log: { info: () => undefined, warn: () => undefined },
    });
  });

  it('refuses at once when no approver is connected, saying how a rule or a token could allow it', async () => {
    approvers = 0;
    const v = await broker.request(request(), new AbortController().signal);
    assert.equal(v.outcome, 'denied');
    assert.match((v as { reason: string }).reason, /needs a person's approval for each call \(tools\.approval\), and no one can approve it here/);
    assert.match((v as { reason: string }).reason, /tools\.approval_rules/);
    assert.match((v as { reason: string }).reason, /tollgate mcp grant --tool mcp__everything__get-env --user alice@acme\.dev/);
    assert.deepEqual(broker.pending(), []);
    assert.deepEqual(events, []);
  });

  it('announces a waiting call, lists it, and admits exactly it on allow-once; a second answer is refused', async () => {
    const verdict = broker.request(request(), new AbortController().signal);
    await settle();
    const [pending] = broker.pending();
    assert.ok(pending);
    assert.equal(pending.toolName, TOOL);
    assert.equal(pending.user, 'alice@acme.dev');
    assert.equal(pending.session, 'mcp-session-1');
    assert.equal(pending.expiresAt, new Date(clock.now + 30_000).toISOString());
    assert.deepEqual(events, [{ type: 'approval', pending }]);
    const answered = broker.answer(pending.id, 'allow-once', 'alice@acme.dev');
    assert.deepEqual(answered, { ok: true, resolution: { id: pending.id, outcome: 'allowed', by: 'alice@acme.dev', scope: 'once' } });
    assert.deepEqual(await verdict, { outcome: 'allowed', by: 'alice@acme.dev', scope: 'once', via: 'person' });
    assert.deepEqual(events[1], { type: 'approval-resolved', resolution: { id: pending.id, outcome: 'allowed', by: 'alice@acme.dev', scope: 'once' } });
    assert.deepEqual(broker.pending(), []);
    const again = broker.answer(pending.id, 'deny', 'mallory');
    assert.equal(again.ok, false);
    assert.equal((again as { reason: string }).reason, 'already-decided');
    // allow-once is not remembered: the next call asks again.
    void broker.request(request(), new AbortController().signal);
    await settle();
    assert.equal(broker.pending().length, 1);
  });

  it('answers an unknown id with reason unknown', () => {
    const r = broker.answer('nope', 'allow-once', 'alice');
    assert.deepEqual(r.ok ? null : r.reason, 'unknown');
  });

  it('refuses a denied call, naming who denied it', async () => {
    const verdict = broker.request(request(), new AbortController().signal);
    await settle();
    broker.answer(broker.pending()[0]!.id, 'deny', 'bob@acme.dev');
    const v = await verdict;
    assert.equal(v.outcome, 'denied');
    assert.equal((v as { by: string }).by, 'bob@acme.dev');
  });

  it('refuses a call nobody answers within the timeout; a later answer is told it expired', async () => {
    const verdict = broker.request(request(), new AbortController().signal);
    await settle();
    const id = broker.pending()[0]!.id;
    clock.advance(29_999);
    assert.equal(broker.pending().length, 1);
    clock.advance(1);
    const v = await verdict;
    assert.equal(v.outcome, 'timeout');
    assert.match((v as { reason: string }).reason, /within 30s \(tools\.approval_timeout\)/);
    assert.deepEqual(broker.pending(), []);
    assert.equal((events[1] as { resolution: { outcome: string } }).resolution.outcome, 'timeout');
    const late = broker.answer(id, 'allow-once', 'alice');
    assert.equal(late.ok ? null : late.reason, 'expired');
  });

  it('treats an answer the clock says came after the timeout as expired, even before the timer ran', async () => {
    const verdict = broker.request(request(), new AbortController().signal);
    await settle();
    const id = broker.pending()[0]!.id;
    clock.now += 30_000;
    const late = broker.answer(id, 'allow-once', 'alice');
    assert.equal(late.ok ? null : late.reason, 'expired');
    assert.equal((await verdict).outcome, 'timeout');
  });

  it('gives up a call whose client left: abandoned, nothing left pending', async () => {
    const left = new AbortController();
    const verdict = broker.request(request(), left.signal);
    await settle();
    const id = broker.pending()[0]!.id;
    left.abort();
    assert.equal((await verdict).outcome, 'abandoned');
    assert.deepEqual(broker.pending(), []);
    assert.deepEqual(events[1], { type: 'approval-resolved', resolution: { id, outcome: 'abandoned', by: null, scope: null } });
    clock.advance(60_000);
    assert.equal(events.length, 2, 'the timer was cancelled');
  });

  it('remembers allow-session for that session, person, agent and tool only, until the session ends', async () => {
    const first = broker.request(request(), new AbortController().signal);
    await settle();
    broker.answer(broker.pending()[0]!.id, 'allow-session', 'alice@acme.dev');
    assert.equal((await first).outcome, 'allowed');
    assert.deepEqual(await broker.request(request(), new AbortController().signal), { outcome: 'allowed', by: 'session', scope: 'session', via: 'session' });
    // Another session, another tool, another agent: asked again.
    void broker.request(request({ session: 'mcp-session-2' }), new AbortController().signal);
    void broker.request(request({ toolName: 'mcp__everything__write_file', tool: 'write_file' }), new AbortController().signal);
    void broker.request(request({ identity: identity('alice@acme.dev', { agent: 'other' }) }), new AbortController().signal);
    await settle();
    assert.equal(broker.pending().length, 3);
    broker.sessionEnded('mcp-session-1');
    void broker.request(request(), new AbortController().signal);
    await settle();
    assert.equal(broker.pending().length, 4);
  });

  it('admits by an approval rule that matches the tool and the identity, without asking', async () => {
    approvers = 0;
    rules = [{ id: 'ops-env', tools: ['mcp__*__get-env'], users: ['*@acme.dev'], agents: ['claude-code'] }];
    assert.deepEqual(await broker.request(request(), new AbortController().signal), { outcome: 'allowed', by: 'rule:ops-env', scope: 'once', via: 'rule' });
    assert.equal((await broker.request(request({ identity: identity('eve@evil.dev') }), new AbortController().signal)).outcome, 'denied');
    // An agent named only in x-tollgate-agent is not vouched for.
    assert.equal((await broker.request(request({ identity: identity('alice@acme.dev', { agentAsserted: true }) }), new AbortController().signal)).outcome, 'denied');
    rules = [{ id: 'ml', tools: [TOOL], roles: ['ml-engineers'] }];
    assert.equal((await broker.request(request({ identity: identity('bob@acme.dev', { roles: ['ml-engineers'] }) }), new AbortController().signal)).outcome, 'allowed');
    assert.equal((await broker.request(request(), new AbortController().signal)).outcome, 'denied');
  });

  it('admits by an approval token that covers the person, agent and tool; otherwise says why it did not', async () => {
    approvers = 0;
    verify = () => Promise.resolve(grant());
    assert.deepEqual(await broker.request(request({ approvalToken: 't' }), new AbortController().signal), { outcome: 'allowed', by: 'token:jti-1', scope: 'once', via: 'token' });
    verify = () => Promise.resolve(grant({ user: 'bob@acme.dev' }));
    assert.match((await broker.request(request({ approvalToken: 't' }), new AbortController().signal) as { reason: string }).reason, /approval token sent does not allow it: it was granted to another person/);
    verify = () => Promise.resolve(grant({ tool: 'mcp__files__*' }));
    assert.match((await broker.request(request({ approvalToken: 't' }), new AbortController().signal) as { reason: string }).reason, /it approves 'mcp__files__\*', not 'mcp__everything__get-env'/);
    verify = () => Promise.resolve(grant({ agent: 'ci' }));
    assert.match((await broker.request(request({ approvalToken: 't' }), new AbortController().signal) as { reason: string }).reason, /granted to agent 'ci'/);
    verify = () => Promise.reject(new ApprovalTokenError('expired', 'it has expired'));
    assert.match((await broker.request(request({ approvalToken: 't' }), new AbortController().signal) as { reason: string }).reason, /does not allow it: it has expired/);
  });

  it('asks a person when a token does not cover the call and an approver is there', async () => {
    verify = () => Promise.resolve(grant({ tool: 'mcp__files__*' }));
    void broker.request(request({ approvalToken: 't' }), new AbortController().signal);
    await settle();
    assert.equal(broker.pending().length, 1);
  });

  it(`holds at most ${MAX_PENDING_PER_SESSION} waiting calls per session and refuses the next`, async () => {
    for (let i = 0; i < MAX_PENDING_PER_SESSION; i++) void broker.request(request(), new AbortController().signal);
    await settle();
    assert.equal(broker.pending().length, MAX_PENDING_PER_SESSION);
    const v = await broker.request(request(), new AbortController().signal);
    assert.equal(v.outcome, 'denied');
    assert.match((v as { reason: string }).reason, /already wait for a person's approval, the most one session may have/);
    // Another session of the same person still may ask.
    void broker.request(request({ session: 'mcp-session-2' }), new AbortController().signal);
    await settle();
    assert.equal(broker.pending().length, MAX_PENDING_PER_SESSION + 1);
  });
});
