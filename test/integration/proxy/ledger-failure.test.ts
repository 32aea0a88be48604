import assert from 'node:assert/strict';
import type { LedgerIo } from '../../../src/store/ledger/io';
import { nodeIo } from '../../../src/store/ledger/io';
import { dataDirPublicKey } from '../../../src/store/ledger/signer';
import { verifyLedger } from '../../../src/store/ledger/verify';
import { MockUpstream } from '../../helpers/mock-upstream';
import { eventually } from '../../helpers/poll';
import { startTestProxy } from '../../helpers/proxy';

/** A disk that fills up on demand: tests run as root, where chmod does not stop writes. */
class FillingDisk implements LedgerIo {
  full = false;
  private refuse(): never {
    const err: NodeJS.ErrnoException = new Error('ENOSPC: no space left on device');
    err.code = 'ENOSPC';
    throw err;
  }
  async write(fd: number, data: Buffer, position: number): Promise<void> {
    if (this.full) this.refuse();
    await nodeIo.write(fd, data, position);
  }
  async fsync(fd: number): Promise<void> {
    if (this.full) this.refuse();
    await nodeIo.fsync(fd);
  }
  async truncate(fd: number, length: number): Promise<void> {
    if (this.full) this.refuse();
    await nodeIo.truncate(fd, length);
  }
}

/** A disk whose free space the test sets: the ledger's reserve is proved without filling a real disk. */
class LowSpaceDisk implements LedgerIo {
  free = Number.POSITIVE_INFINITY;
  write(fd: number, data: Buffer, position: number): Promise<void> {
    return nodeIo.write(fd, data, position);
  }
  fsync(fd: number): Promise<void> {
    return nodeIo.fsync(fd);
  }
  truncate(fd: number, length: number): Promise<void> {
    return nodeIo.truncate(fd, length);
  }
  freeBytes(): number {
    return this.free;
  }
}

/** A disk whose fsync takes as long as a test needs, so a decision stays not yet durable. */
class SlowDisk implements LedgerIo {
  delayMs = 0;
  write(fd: number, data: Buffer, position: number): Promise<void> {
    return nodeIo.write(fd, data, position);
  }
  async fsync(fd: number): Promise<void> {
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    await nodeIo.fsync(fd);
  }
  truncate(fd: number, length: number): Promise<void> {
    return nodeIo.truncate(fd, length);
  }
}

describe('proxy without a writable ledger', () => {
  it('fails closed with 503 and a reason while the disk is full, and serves again once it recovers', async () => {
    const mock = new MockUpstream();
    const disk = new FillingDisk();
    const p = await startTestProxy(await mock.start(), { ledgerOptions: { io: disk, retryMs: 100 } });
    const call = async (): Promise<Response> =>
      fetch(`${p.url}/openai/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${await p.token('bob@acme.dev')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], max_tokens: 5 }),
      });
    try {
      assert.equal((await call()).status, 200);
      disk.full = true;
      const first = await call();
      assert.equal(first.status, 503, 'the call whose record could not be written is stopped');
      assert.equal(first.headers.get('x-tollgate-decision'), null, 'no id is sent for a record that is not on disk');
      const next = await call();
      assert.equal(next.status, 503);
      assert.match(((await next.json()) as { error: { message: string } }).error.message, /cannot record decisions.*disk full|no space/i);
      const state = await p.state();
      assert.equal(state.health.ok, false);
      assert.equal(state.accumulators.find((a) => a.rule === 'user-tokens')?.used, mock.inputTokens + mock.outputTokens, 'the stopped call left no reservation behind');

      disk.full = false;
      await eventually(async () => (await p.state()).health.ok, 'the ledger to recover', 5_000);
      assert.equal((await call()).status, 200);
    } finally {
      await p.stop();
      await mock.stop();
    }
    const report = await verifyLedger(p.dataDir, dataDirPublicKey(p.dataDir));
    assert.equal(report.ok, true, JSON.stringify(report));
  });

  it('refuses calls with 503 before free space runs below the reserve, and serves again once space is back', async () => {
    const mock = new MockUpstream();
    const disk = new LowSpaceDisk();
    const p = await startTestProxy(await mock.start(), { ledgerOptions: { io: disk, retryMs: 50, diskCheckMs: 20, diskReserveBytes: 64 * 1024 * 1024 } });
    const call = async (): Promise<Response> =>
      fetch(`${p.url}/openai/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${await p.token('bob@acme.dev')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], max_tokens: 5 }),
      });
    try {
      assert.equal((await call()).status, 200);
      disk.free = 10 * 1024 * 1024;
      await eventually(async () => !(await p.state()).health.ok, 'health to turn before the disk is full');
      const refused = await call();
      assert.equal(refused.status, 503);
      assert.match(((await refused.json()) as { error: { message: string } }).error.message, /disk nearly full: 10\.0 MiB free .* below the 64\.0 MiB reserve/);
      assert.equal(mock.seen.length, 1, 'the refused call never reached the upstream');

      disk.free = 1024 * 1024 * 1024;
      await eventually(async () => (await p.state()).health.ok, 'the ledger to recover', 5_000);
      assert.equal((await call()).status, 200);
    } finally {
      await p.stop();
      await mock.stop();
    }
    const report = await verifyLedger(p.dataDir, dataDirPublicKey(p.dataDir));
    assert.equal(report.ok, true, JSON.stringify(report));
  });

  it('settles and releases a call whose client left after the upstream answered but before the decision was durable', async () => {
    const mock = new MockUpstream();
    const disk = new SlowDisk();
    const p = await startTestProxy(await mock.start(), { ledgerOptions: { io: disk } });
    try {
      const token = await p.token('bob@acme.dev');
      disk.delayMs = 600;
      const controller = new AbortController();
      const call = fetch(`${p.url}/openai/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], max_tokens: 5 }),
        signal: controller.signal,
      });
      await eventually(() => mock.finished > 0, 'the upstream to answer');
      controller.abort();
      await call.catch(() => undefined);
      disk.delayMs = 0;
      await eventually(async () => (await p.records()).some((r) => r.kind === 'settle'), 'the left call to be settled', 5_000);
      const records = await p.records();
      const decision = records.find((r) => r.kind === 'decision');
      const settle = records.find((r) => r.kind === 'settle');
      assert.ok(decision?.kind === 'decision' && settle?.kind === 'settle');
      assert.equal(settle.aborted, true);
      assert.equal(settle.decision, decision.id);
      // The prompt reached the upstream, so its counted input stays charged; the held worst case goes.
      const charged = (settle.usage.input_tokens ?? 0) + (settle.usage.output_tokens ?? 0);
      assert.ok(charged < decision.reserved.input_tokens + decision.reserved.output_tokens);
      const state = await p.state();
      assert.equal(state.accumulators.find((a) => a.rule === 'user-tokens')?.used, charged, 'the rest of the reservation was released');
      const started = Date.now();
      await p.stop();
      assert.ok(Date.now() - started < 5_000, 'nothing was left waiting for the drain');
    } finally {
      await p.stop();
      await mock.stop();
    }
  });
});
