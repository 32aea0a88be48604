import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { ChargeOp, ReserveResult } from '../../../src/engine/limiters/spec';
import { Ledger } from '../../../src/store/ledger/ledger';
import type { AuditRecord, DecisionRecord, SettleRecord } from '../../../src/contracts/audit-records';
import { MemoryStore } from '../../../src/store/memory-store';
import { MockUpstream } from '../../helpers/mock-upstream';
import { eventually } from '../../helpers/poll';
import { startTestProxy } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';

/** A memory store whose next reservation waits until the test lets it go. */
class GatedStore extends MemoryStore {
  gate?: Promise<void>;
  override async reserve(ops: readonly ChargeOp[], now: number): Promise<ReserveResult> {
    const gate = this.gate;
    this.gate = undefined;
    if (gate) await gate;
    return super.reserve(ops, now);
  }
}

/** Sends a chat call and gives up on it (as `curl -m` does) once `leave` resolves. */
function callAndLeave(p: TestProxy, token: string, leave: Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], max_tokens: 200 });
    const req = http.request(`${p.url}/openai/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.end(body);
    void leave.then(() => req.destroy());
  });
}

/** Whether the user's call has its settle record yet. */
function settled(records: AuditRecord[], user: string): boolean {
  const decision = records.find((r) => r.kind === 'decision' && r.identity.user === user && r.outcome === 'allow');
  return decision !== undefined && records.some((r) => r.kind === 'settle' && r.decision === decision.id);
}

async function settleOf(records: AuditRecord[], user: string): Promise<{ decision: DecisionRecord; settle?: SettleRecord }> {
  const decision = records.find((r): r is DecisionRecord => r.kind === 'decision' && r.identity.user === user && r.outcome === 'allow');
  assert.ok(decision, `a decision for ${user}: ${JSON.stringify(records.map((r) => [r.kind, (r as DecisionRecord).outcome, (r as DecisionRecord).status, (r as DecisionRecord).identity?.user]))}`);
  return { decision, settle: records.find((r): r is SettleRecord => r.kind === 'settle' && r.decision === decision.id) };
}

describe('a hold ends with its call, in every phase', () => {
  let mock: MockUpstream;
  before(async () => {
    mock = new MockUpstream();
    await mock.start();
  });
  after(() => mock.stop());

  it('stops the upstream call and settles it when the client leaves before the upstream answers', async () => {
    const p = await startTestProxy(mock.url);
    try {
      mock.next.push({ kind: 'hang' });
      const closed = mock.closedEarly;
      const seen = mock.seen.length;
      const reached = eventually(() => mock.seen.length > seen, 'the call to reach the upstream');
      await callAndLeave(p, await p.token('erin@acme.dev'), reached);
      await eventually(() => mock.closedEarly > closed, 'the upstream request to be aborted');
      await eventually(async () => settled(await p.records(), 'erin@acme.dev'), 'a settle record');
      const { decision, settle } = await settleOf(await p.records(), 'erin@acme.dev');
      assert.equal(settle!.aborted, true);
      assert.equal(settle!.status, 499);
      assert.deepEqual(settle!.usage, { input_tokens: null, output_tokens: null }, 'the provider had the request: what it used is unknown');
      const tokens = (await p.state()).accumulators.find((a) => a.rule === 'user-tokens' && a.key === 'user:erin@acme.dev');
      assert.equal(tokens?.used, decision.reserved.input_tokens + decision.reserved.output_tokens, 'charged once, at the worst case, not held forever');
    } finally {
      await p.stop();
    }
  });

  it('sends nothing upstream and releases the hold when the client leaves while the call is being decided', async () => {
    const store = new GatedStore();
    const p = await startTestProxy(mock.url, { store });
    try {
      let open!: () => void;
      store.gate = new Promise<void>((r) => (open = r));
      const seen = mock.seen.length;
      await callAndLeave(p, await p.token('frank@acme.dev'), new Promise((r) => setTimeout(r, 200)));
      open();
      await eventually(async () => settled(await p.records(), 'frank@acme.dev'), 'a settle record');
      const { settle } = await settleOf(await p.records(), 'frank@acme.dev');
      assert.equal(mock.seen.length, seen, 'nothing reached the provider');
      assert.equal(settle!.aborted, true);
      assert.deepEqual(settle!.usage, { input_tokens: 0, output_tokens: 0 });
      const tokens = (await p.state()).accumulators.find((a) => a.rule === 'user-tokens' && a.key === 'user:frank@acme.dev');
      assert.equal(tokens?.used ?? 0, 0, 'the hold was returned');
    } finally {
      await p.stop();
    }
  });

  it('cuts a call still waiting on shutdown, settles it, and stops within the drain time', async function () {
    this.timeout(90_000);
    // The upstream would be waited for a minute; shutting down must not wait for it.
    const p = await startTestProxy(mock.url, { headerTimeoutMs: 60_000 });
    mock.next.push({ kind: 'hang' });
    const seen = mock.seen.length;
    const call = callAndLeave(p, await p.token('gina@acme.dev'), new Promise(() => undefined));
    await eventually(() => mock.seen.length > seen, 'the call to reach the upstream');
    const started = Date.now();
    await p.running.stop(300);
    assert.ok(Date.now() - started < 30_000, `stopped in ${Date.now() - started} ms, not after the upstream's minute`);
    await call;
    const ledger = await Ledger.open(p.dataDir, { worker: false });
    try {
      const records: AuditRecord[] = [];
      for await (const r of ledger.records()) records.push(r);
      const { settle } = await settleOf(records, 'gina@acme.dev');
      assert.ok(settle, 'the call was settled before the ledger closed');
      assert.equal(settle.aborted, true);
    } finally {
      await ledger.close();
    }
  });
});
