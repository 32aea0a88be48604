import * as assert from 'node:assert/strict';
import type { AdminEvent } from '../../../src/contracts/admin';
import { AdminClient, AdminError, SseParser, adminEventOf } from '../../../src/extension/core/admin-client';
import { FakeAdmin, decision, health, revocation, snapshot, suspension } from './fake-admin';
import { eventually } from '../../helpers/poll';

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

    it('maps suspension, resumption and revocation events, and drops one missing the fields the editor acts on', () => {
      assert.deepEqual(adminEventOf({ event: 'suspension', data: JSON.stringify(suspension) }), { type: 'suspension', suspension });
      assert.deepEqual(adminEventOf({ event: 'resumption', data: JSON.stringify(suspension) }), { type: 'resumption', suspension });
      assert.deepEqual(adminEventOf({ event: 'revocation', data: JSON.stringify(revocation) }), { type: 'revocation', revocation });
      assert.equal(adminEventOf({ event: 'suspension', data: JSON.stringify({ ...suspension, resume: undefined }) }), undefined);
      assert.equal(adminEventOf({ event: 'revocation', data: JSON.stringify({ ...revocation, value: 7 }) }), undefined);
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

    it('reads the suspensions, and receives suspension and revocation events as the proxy sends them', async () => {
      admin.suspensions = [suspension];
      const c = new AdminClient(admin.url, admin.token);
      assert.deepEqual((await c.suspensions()).suspensions, [suspension]);
      const events: AdminEvent[] = [];
      const stream = c.events((e) => events.push(e), () => undefined);
      await eventually(() => admin.subscribers === 1, 'a subscriber', 3_000);
      admin.publish({ type: 'suspension', suspension });
      admin.publish({ type: 'revocation', revocation });
      await eventually(() => events.length === 2, 'two events', 3_000);
      assert.deepEqual(events, [{ type: 'suspension', suspension }, { type: 'revocation', revocation }]);
      stream.close();
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
      await eventually(() => admin.subscribers === 1, 'a subscriber', 3_000);
      admin.publish({ type: 'decision', decision: decision('d1') });
      admin.publish({ type: 'settle', decision: decision('d1', { settled: true }) });
      await eventually(() => events.length === 2, 'two events', 3_000);
      assert.deepEqual(events.map((e) => e.type), ['decision', 'settle']);
      admin.endStreams();
      await eventually(() => ends.length === 1, 'the end', 3_000);
      assert.ok(AdminError.is(ends[0], 'unreachable'));

      const closed: AdminError[] = [];
      const stream = c.events(() => undefined, (e) => closed.push(e));
      await eventually(() => admin.subscribers === 1, 'a subscriber', 3_000);
      stream.close();
      await eventually(() => admin.subscribers === 0, 'the server to see the close', 3_000);
      // A stream opened and ended after the close: once its end is reported, the closed stream's
      // own end (its socket was destroyed first) would have been reported too, had it been.
      const later: AdminError[] = [];
      c.events(() => undefined, (e) => later.push(e));
      await eventually(() => admin.subscribers === 1, 'a later subscriber', 3_000);
      admin.endStreams();
      await eventually(() => later.length === 1, 'the later stream to end', 3_000);
      assert.deepEqual(closed, []);
    });
  });
});
