import * as assert from 'node:assert/strict';
import type { ApprovalAnswer } from '../../../src/contracts/approvals';
import { AdminClient, approvalEventOf } from '../../../src/extension/core/admin-client';
import type { ApprovalPromptHooks, ApprovalQuestion } from '../../../src/extension/core/approval-prompt';
import { ApprovalPrompt, approvalQuestionOf, approverOf, ARGUMENTS_SHOWN_MAX, compactArguments } from '../../../src/extension/core/approval-prompt';
import { eventually } from '../../helpers/poll';
import { FakeApprovalsAdmin, pendingApproval } from './fake-approvals-admin';

const PERSON = 'dev@example.test';
const NOW = Date.parse('2026-11-27T12:00:00.000Z');

/** The person at the modal: every question shown, answered when the test says. */
class Person implements ApprovalPromptHooks {
  readonly asked: ApprovalQuestion[] = [];
  readonly told: string[] = [];
  readonly logged: string[] = [];
  private readonly waiting = new Map<string, (answer: ApprovalAnswer | undefined) => void>();

  ask(question: ApprovalQuestion): Promise<ApprovalAnswer | undefined> {
    this.asked.push(question);
    return new Promise((resolve) => this.waiting.set(question.id, resolve));
  }
  tell(message: string): void {
    this.told.push(message);
  }
  log(level: string, message: string): void {
    this.logged.push(`${level} ${message}`);
  }
  now(): number {
    return Date.now();
  }

  /** Whether the question about `id` is on screen now. */
  showing(id: string): boolean {
    return this.waiting.has(id);
  }

  /** Answers the question about `id` (undefined: dismissed it). */
  answer(id: string, answer: ApprovalAnswer | undefined): void {
    const resolve = this.waiting.get(id);
    assert.ok(resolve, `a question about ${id} is open`);
    this.waiting.delete(id);
    resolve(answer);
  }
}

describe('approval questions in the editor', () => {
  describe('the question', () => {
    it('names who asks (person, agent, session), the server and tool, the arguments and when the wait ends', () => {
      const p = pendingApproval('a1', { askedAt: new Date(NOW).toISOString(), expiresAt: new Date(NOW + 45_000).toISOString(), arguments: { message: 'deploy [redacted:openai-project-key]' } });
      const q = approvalQuestionOf(p, NOW);
      assert.equal(q.id, 'a1');
      assert.equal(q.message, 'Tollgate: claude-code (alice@acme.dev) wants to call echo on the MCP server everything');
      assert.equal(
        q.detail,
        [
          'Who asks: alice@acme.dev, agent claude-code, session session-1',
          'Tool: mcp__everything__echo',
          'Arguments (redacted): {"message":"deploy [redacted:openai-project-key]"}',
          'Unanswered, the call is refused in 45 s (12:00:45 UTC).',
        ].join('\n'),
      );
    });

    it('says when there is no agent, session or argument', () => {
      const q = approvalQuestionOf(pendingApproval('a2', { agent: null, session: null, arguments: undefined, expiresAt: new Date(NOW - 5_000).toISOString() }), NOW);
      assert.match(q.message, /^Tollgate: alice@acme.dev wants to call echo/);
      assert.match(q.detail, /agent \(none\), session \(none\)/);
      assert.match(q.detail, /Arguments \(redacted\): \(none\)/);
      assert.match(q.detail, /refused in 0 s/);
    });

    it('keeps long arguments to one bounded line, saying how long they were', () => {
      const long = { text: 'x'.repeat(5_000), nested: { list: [1, 2, 3] } };
      const shown = compactArguments(long);
      const full = JSON.stringify(long);
      assert.ok(shown.startsWith(full.slice(0, ARGUMENTS_SHOWN_MAX)));
      assert.ok(shown.endsWith(`… (${full.length} characters in all)`), shown.slice(-40));
      assert.ok(shown.length < ARGUMENTS_SHOWN_MAX + 40);
      assert.equal(compactArguments({ a: 1 }), '{"a":1}');
      // Cut between characters, never inside one.
      assert.equal(compactArguments('😀'.repeat(10), 5), `"${'😀'.repeat(4)}… (12 characters in all)`);
    });

    it('lets no field break a line or reorder the text', () => {
      const q = approvalQuestionOf(pendingApproval('a3', { tool: 'echo\nWho asks: the boss', agent: 'bot\u202eevil', arguments: { m: 'a\u2028b' } }), NOW);
      assert.equal(q.detail.split('\n').length, 4);
      assert.doesNotMatch(q.message, /\n|\u202e/);
      assert.doesNotMatch(q.detail, /\u2028|\u202e/);
    });

    it('reads `approval` and `approval-resolved` messages, bare or wrapped, and drops malformed ones', () => {
      const p = pendingApproval('e1');
      assert.deepEqual(approvalEventOf({ event: 'approval', data: JSON.stringify(p) }), { type: 'approval', pending: p });
      assert.deepEqual(approvalEventOf({ event: 'approval', data: JSON.stringify({ type: 'approval', pending: p }) }), { type: 'approval', pending: p });
      const r = { id: 'e1', outcome: 'timeout', by: null, scope: null } as const;
      assert.deepEqual(approvalEventOf({ event: 'approval-resolved', data: JSON.stringify(r) }), { type: 'approval-resolved', resolution: r });
      assert.equal(approvalEventOf({ event: 'approval', data: '{"id":"x"}' }), undefined);
      assert.equal(approvalEventOf({ event: 'approval', data: 'nope' }), undefined);
      assert.equal(approvalEventOf({ event: 'decision', data: JSON.stringify(p) }), undefined);
    });
  });

  describe('who approves', () => {
    it('the signed-in person, in a trusted window with the proxy running; nobody otherwise', () => {
      assert.equal(approverOf({ trusted: true, person: PERSON, proxyRunning: true }), PERSON);
      assert.equal(approverOf({ trusted: false, person: PERSON, proxyRunning: true }), undefined, 'an untrusted window never approves');
      assert.equal(approverOf({ trusted: true, person: undefined, proxyRunning: true }), undefined, 'nobody signed in');
      assert.equal(approverOf({ trusted: true, person: PERSON, proxyRunning: false }), undefined, 'no proxy to approve for');
    });
  });

  describe('against a proxy that asks (a fake admin server on 127.0.0.1)', () => {
    let proxy: FakeApprovalsAdmin;
    let person: Person;
    let prompt: ApprovalPrompt;
    let admin: AdminClient;
    const fastBackoff = { baseMs: 20, maxMs: 200, stableMs: 60_000, maxFailures: 4 };

    beforeEach(async () => {
      proxy = new FakeApprovalsAdmin();
      await proxy.start();
      person = new Person();
      prompt = new ApprovalPrompt(person, fastBackoff);
      admin = new AdminClient(proxy.url, proxy.token);
    });
    afterEach(async () => {
      prompt.dispose();
      await proxy.stop();
    });

    async function approving(): Promise<void> {
      prompt.connect(admin, PERSON);
      await eventually(() => prompt.approving && proxy.approvers === 1, 'the prompt to be counted as an approver', 5_000);
    }

    it('registers as the signed-in person and posts each answer by them: Allow Once, Allow for This Session, Deny, dismissed', async () => {
      await approving();
      assert.deepEqual(proxy.approversSeen, [PERSON]);
      const answers: [string, ApprovalAnswer | undefined, string][] = [
        ['once', 'allow-once', 'allow-once'],
        ['session', 'allow-session', 'allow-session'],
        ['deny', 'deny', 'deny'],
        ['dismissed', undefined, 'deny'],
      ];
      for (const [id, given, posted] of answers) {
        proxy.announce(pendingApproval(id));
        await eventually(() => person.showing(id), `the question about ${id}`, 5_000);
        person.answer(id, given);
        await eventually(() => proxy.answers.find((a) => a.id === id), `the answer to ${id}`, 5_000);
        assert.deepEqual(proxy.answers.find((a) => a.id === id), { id, answer: posted, by: PERSON });
      }
      assert.deepEqual(person.told, [], 'answers in time need no word');
    });

    it('asks one question at a time, in order', async () => {
      await approving();
      proxy.announce(pendingApproval('first'));
      proxy.announce(pendingApproval('second'));
      await eventually(() => person.showing('first'), 'the first question', 5_000);
      assert.deepEqual(person.asked.map((q) => q.id), ['first']);
      person.answer('first', 'allow-once');
      await eventually(() => person.showing('second'), 'the second question', 5_000);
      person.answer('second', 'deny');
      await eventually(() => proxy.answers.length === 2, 'both answers', 5_000);
      assert.deepEqual(proxy.answers.map((a) => [a.id, a.answer]), [['first', 'allow-once'], ['second', 'deny']]);
    });

    it('never asks twice about one call: announced again, listed again after a reconnect', async () => {
      proxy.listOnly(pendingApproval('waiting-before'));
      await approving();
      // A call that waited before the approver connected is asked about (from GET /approvals).
      await eventually(() => person.showing('waiting-before'), 'the call that was waiting already', 5_000);
      proxy.repeat('waiting-before');
      proxy.announce(pendingApproval('fresh'));
      proxy.repeat('fresh');
      person.answer('waiting-before', 'allow-once');
      await eventually(() => person.showing('fresh'), 'the fresh call', 5_000);
      person.answer('fresh', 'allow-once');
      await eventually(() => proxy.answers.length === 2, 'both answers', 5_000);
      assert.deepEqual(person.asked.map((q) => q.id), ['waiting-before', 'fresh']);
    });

    it('drops a queued question whose call ended, and tells the person who answers one that timed out on screen', async () => {
      await approving();
      proxy.announce(pendingApproval('on-screen'));
      proxy.announce(pendingApproval('queued'));
      await eventually(() => person.showing('on-screen'), 'the first question', 5_000);
      proxy.expire('queued');
      proxy.expire('on-screen');
      await eventually(() => person.logged.some((l) => l.includes('ended (timeout) before it was asked')), 'the queued question to be dropped', 5_000);
      person.answer('on-screen', 'allow-once');
      await eventually(() => person.told.length === 1, 'word to the person', 5_000);
      assert.equal(person.told[0], 'Tollgate: too late, the call of echo on everything by claude-code (alice@acme.dev) was already refused: nobody answered in time.');
      assert.deepEqual(person.asked.map((q) => q.id), ['on-screen'], 'the queued question was never shown');
      assert.deepEqual(proxy.answers, [], 'nothing was posted for a call known to be over');
    });

    it('tells the person a late Allow was refused when the proxy answers 409, and stays quiet about a late Deny', async () => {
      await approving();
      proxy.announce(pendingApproval('late'));
      proxy.announce(pendingApproval('late-deny'));
      await eventually(() => person.showing('late'), 'the question', 5_000);
      // The stream missed the end of the wait: only the answer's 409 says so.
      proxy.expire('late', { announce: false });
      proxy.expire('late-deny', { announce: false });
      person.answer('late', 'allow-session');
      await eventually(() => person.told.length === 1, 'word to the person', 5_000);
      assert.deepEqual(proxy.answers[0], { id: 'late', answer: 'allow-session', by: PERSON });
      assert.match(person.told[0]!, /^Tollgate: too late, .* was already refused: nobody answered in time/);
      await eventually(() => person.showing('late-deny'), 'the second question', 5_000);
      person.answer('late-deny', 'deny');
      await eventually(() => proxy.answers.length === 2, 'the late deny to be posted', 5_000);
      await eventually(() => person.logged.some((l) => l.includes('deny came too late (expired)')), 'the late deny to be logged', 5_000);
      assert.equal(person.told.length, 1, 'a refused call the person refused needs no word');
    });

    it('says when another approver decided first', async () => {
      await approving();
      proxy.announce(pendingApproval('shared'));
      await eventually(() => person.showing('shared'), 'the question', 5_000);
      // Another window allows it; this one is still on screen.
      await admin.answerApproval('shared', { answer: 'allow-once', by: 'bob@acme.dev' });
      await eventually(() => person.logged.some((l) => l.includes('ended (allowed by bob@acme.dev) while it was asked')), 'the other answer to be announced', 5_000);
      person.answer('shared', 'deny');
      await eventually(() => person.told.length === 1, 'word to the person', 5_000);
      assert.match(person.told[0]!, /^Tollgate: too late, .* was already allowed by bob@acme\.dev\.$/);
    });

    it('reconnects when the proxy restarts, asks about new calls, and says an old question no longer waits', async () => {
      await approving();
      proxy.announce(pendingApproval('before-restart'));
      await eventually(() => person.showing('before-restart'), 'the question', 5_000);
      proxy.restart();
      await eventually(() => proxy.approversSeen.length === 2 && proxy.approvers === 1, 'the approver to reconnect', 5_000);
      proxy.announce(pendingApproval('after-restart'));
      person.answer('before-restart', 'allow-once');
      await eventually(() => person.told.length === 1, 'word about the old question', 5_000);
      assert.match(person.told[0]!, /^Tollgate: too late, .* was refused: the proxy no longer waits for it/);
      await eventually(() => person.showing('after-restart'), 'the question after the restart', 5_000);
      person.answer('after-restart', 'allow-once');
      await eventually(() => proxy.answers.some((a) => a.id === 'after-restart'), 'the answer after the restart', 5_000);
      assert.deepEqual(proxy.approversSeen, [PERSON, PERSON]);
    });

    it('backs off while the proxy refuses the stream and reconnects once it takes it', async () => {
      await approving();
      proxy.refuseStreams = true;
      proxy.restart();
      await eventually(() => person.logged.filter((l) => l.includes('reconnecting in')).length >= 2, 'two retries', 5_000);
      const delays = person.logged.filter((l) => l.includes('reconnecting in')).map((l) => Number(/in (\d+) ms/.exec(l)![1]));
      assert.ok(delays[1]! > delays[0]!, `the wait grows: ${delays.join(', ')}`);
      proxy.refuseStreams = false;
      await eventually(() => prompt.approving && proxy.approvers === 1, 'the approver to be back', 5_000);
    });

    it('gives up after repeated failures, saying calls are refused meanwhile', async () => {
      await approving();
      proxy.refuseStreams = true;
      proxy.restart();
      await eventually(() => person.logged.some((l) => l.startsWith('warn') && l.includes('refused until the proxy is back')), 'the approver to give up', 10_000);
      assert.equal(prompt.approving, false);
    });

    it('stops approving on disconnect: the stream closes and nothing more is asked', async () => {
      await approving();
      prompt.disconnect();
      await eventually(() => proxy.approvers === 0, 'the proxy to see no approver', 5_000);
      proxy.announce(pendingApproval('nobody'));
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(person.asked, []);
      // A new person signed in: a new approver.
      prompt.connect(admin, 'other@example.test');
      await eventually(() => proxy.approvers === 1, 'the new approver', 5_000);
      assert.deepEqual(proxy.approversSeen, [PERSON, 'other@example.test']);
    });
  });
});
