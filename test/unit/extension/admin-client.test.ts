import * as assert from 'node:assert/strict';
import type { AdminEvent } from '../../../src/proxy/admin-types';
import { AdminClient, AdminError, SseParser, adminEventOf } from '../../../src/extension/core/admin-client';
import { FakeAdmin, decision, health, snapshot } from './fake-admin';

async function until(what: string, ok: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('admin API client', () => {
  describe('SseParser', () => {
    it('assembles events split anywhere across chunks, with CRLF, comments and multi-line data', () => {
      const p = new SseParser();
      const text = ': keep-alive\r\n\r\nevent: decision\r\ndata: {"a":\r\ndata: 1}\r\n\r\nevent: settle\ndata: {}\n\n';
      const out = [];
      for (const ch of text) out.push(...p.feed(ch));
      assert.deepEqual(out, [{ event: 'decision', data: '{"a":\n1}' }, { event: 'settle', data: '{}' }]);
    });

    it('maps messages to typed events and drops unknown or malformed ones', () => {
      assert.deepEqual(adminEventOf({ event: 'decision', data: JSON.stringify(decision('d1')) }), { type: 'decision', decision: decision('d1') });
      assert.deepEqual(adminEventOf({ event: 'policy', data: JSON.stringify(health) }), { type: 'policy', health });
      assert.equal(adminEventOf({ event: 'decision', data: '{nope' }), undefined);
      assert.equal(adminEventOf({ event: 'mystery', data: '{}' }), undefined);
    });
  });

  describe('against a fake admin server', () => {
    let admin: FakeAdmin;
    beforeEach(async () => {
      admin = new FakeAdmin();
      await admin.start();
    });
    afterEach(() => admin.stop());

    it('reads health and whole snapshots with the bearer token', async () => {
      admin.state = snapshot({ todayUsd: 1.25, recent: [decision('d1')] });
      const c = new AdminClient(admin.url, admin.token);
      assert.equal((await c.health()).policy.name, 'p');
      const s = await c.state();
      assert.equal(s.todayUsd, 1.25);
      assert.equal(s.recent[0]?.id, 'd1');
    });

    it('reports a wrong token as unauthorized and a dead port as unreachable', async () => {
      await assert.rejects(new AdminClient(admin.url, 'wrong').state(), (e: unknown) => AdminError.is(e, 'unauthorized'));
      const url = admin.url;
      await admin.stop();
      await assert.rejects(new AdminClient(url, admin.token).health(), (e: unknown) => AdminError.is(e, 'unreachable'));
      await admin.start();
    });

    it('follows the event stream and reports its end once; close() ends it silently', async () => {
      const c = new AdminClient(admin.url, admin.token);
      const events: AdminEvent[] = [];
      const ends: AdminError[] = [];
      c.events((e) => events.push(e), (e) => ends.push(e));
      await until('a subscriber', () => admin.subscribers === 1);
      admin.publish({ type: 'decision', decision: decision('d1') });
      admin.publish({ type: 'settle', decision: decision('d1', { settled: true }) });
      await until('two events', () => events.length === 2);
      assert.deepEqual(events.map((e) => e.type), ['decision', 'settle']);
      admin.endStreams();
      await until('the end', () => ends.length === 1);
      assert.ok(AdminError.is(ends[0], 'unreachable'));

      const closed: AdminError[] = [];
      const stream = c.events(() => undefined, (e) => closed.push(e));
      await until('a subscriber', () => admin.subscribers === 1);
      stream.close();
      await until('the server to see the close', () => admin.subscribers === 0);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(closed, []);
    });
  });
});
