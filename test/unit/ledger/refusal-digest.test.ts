import assert from 'node:assert/strict';
import { RefusalDigest } from '../../../src/store/ledger/refusal-digest';
import type { RefusalsBody } from '../../../src/contracts/audit-records';

describe('refusal digest', () => {
  function digest(intervalMs: number): { d: RefusalDigest; written: RefusalsBody[] } {
    const written: RefusalsBody[] = [];
    const d = new RefusalDigest((body) => {
      written.push(body);
      return Promise.resolve(`r${written.length}`);
    }, () => ({ name: 'p', hash: 'h' }), intervalMs);
    return { d, written };
  }

  it('writes the first refusal after a quiet interval at once, and batches what follows into the next write', async () => {
    const { d, written } = digest(200);
    const first = await d.add({ status: 401, reason: 'missing', provider: 'openai' });
    assert.equal(first, 'r1');
    const later = [d.add({ status: 401, reason: 'missing', provider: 'openai' }), d.add({ status: 401, reason: 'expired', provider: 'openai' }), d.add({ status: 404, reason: 'unknown-provider', provider: '' })];
    assert.equal(written.length, 1, 'nothing more is written within the interval');
    assert.deepEqual(await Promise.all(later), ['r2', 'r2', 'r2']);
    assert.deepEqual(written[1]!.counts, [
      { status: 401, reason: 'missing', provider: 'openai', count: 1 },
      { status: 401, reason: 'expired', provider: 'openai', count: 1 },
      { status: 404, reason: 'unknown-provider', provider: '', count: 1 },
    ]);
  });

  it('writes at once on flush, and rejects the waiting refusals when the ledger cannot take the record', async () => {
    const d = new RefusalDigest(() => Promise.reject(new Error('disk full')), () => ({ name: 'p', hash: 'h' }), 60_000);
    const waiting = d.add({ status: 401, reason: 'missing', provider: '' });
    d.flush();
    await assert.rejects(waiting, /disk full/);
  });
});
