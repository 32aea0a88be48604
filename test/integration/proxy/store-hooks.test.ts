import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { Hold } from '../../../src/engine/limiters/spec';
import type { Policy } from '../../../src/engine/policy/model';
import { MemoryStore } from '../../../src/store/memory-store';
import { MockUpstream } from '../../helpers/mock-upstream';
import { referenceText } from '../../helpers/policy';
import { eventually } from '../../helpers/poll';
import { startTestProxy } from '../../helpers/proxy';

/** A memory store that behaves like a shared store serving from its local fallback. */
class FallbackStore extends MemoryStore {
  readonly applied: Policy[] = [];
  applyPolicy(policy: Policy): void {
    this.applied.push(policy);
  }
  isLocalHold(hold: Hold): boolean {
    return hold.charges.length > 0;
  }
}

describe('proxy and a shared store', () => {
  it('hands each reloaded bundle to the store and records decisions taken on the local fallback as such', async () => {
    const mock = new MockUpstream();
    const store = new FallbackStore();
    const p = await startTestProxy(await mock.start(), { store });
    try {
      const token = await p.token('bob@acme.dev');
      const r = await fetch(`${p.url}/openai/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
      });
      assert.equal(r.status, 200);
      const id = r.headers.get('x-tollgate-decision');
      await eventually(async () => (await p.records()).some((x) => x.id === id), 'the decision record');
      const rec = (await p.records()).find((x) => x.id === id);
      assert.ok(rec?.kind === 'decision');
      if (rec?.kind === 'decision') assert.match(rec.reason, /decided on this proxy's local limits/);

      fs.writeFileSync(p.policyPath, referenceText.replace('version: 1\n', 'version: 1\nstore: { on_unavailable: local }\n'));
      await eventually(() => store.applied.length === 1, 'the reloaded bundle to reach the store');
      assert.equal(store.applied[0]!.store?.onUnavailable, 'local');
    } finally {
      await p.stop();
      await mock.stop();
    }
  });
});

/** A store that breaks after deciding: the proxy must still answer and release the hold. */
class BreakingStore extends MemoryStore {
  released = 0;
  isLocalHold(): boolean {
    throw new Error('the store broke after deciding');
  }
  override release(hold: Hold, now: number): Promise<void> {
    this.released++;
    return super.release(hold, now);
  }
}

describe('proxy and an unexpected failure after the decision', () => {
  it('answers 500 instead of leaving the client waiting, and releases what the decision held', async () => {
    const mock = new MockUpstream();
    const store = new BreakingStore();
    const p = await startTestProxy(await mock.start(), { store });
    try {
      const r = await fetch(`${p.url}/openai/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${await p.token('bob@acme.dev')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }), signal: AbortSignal.timeout(5_000),
      });
      assert.equal(r.status, 500);
      assert.match(((await r.json()) as { error: { message: string } }).error.message, /the store broke after deciding/);
      assert.equal(store.released, 1);
      assert.equal(mock.seen.length, 0);
    } finally {
      await p.stop();
      await mock.stop();
    }
  });
});
