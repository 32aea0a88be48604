import assert from 'node:assert/strict';
import type { StateSnapshot } from '../../../src/contracts/admin';
import type { SpendRow } from '../../../src/contracts/ledger-queries';
import type { DashboardState } from '../../../src/protocol';
import { daysEndingAt, spendLines } from '../../../src/views/dashboard-model';
import { browserChannel, dashboardStateOf, SseReader, tokenAccepted } from '../../../media/src/browser-channel';
import { eventually } from '../../helpers/poll';

const TOKEN = 'admin-token-in-a-header-only-0123456789';

function snapshotNumber(n: number): StateSnapshot {
  return {
    time: `2026-11-27T10:00:0${n}.000Z`,
    health: { ok: true, version: '0', policy: { name: 'team', hash: 'abc', source: '/etc/tollgate.yaml' }, policyError: { source: '/etc/tollgate.yaml', errors: ['bad'] }, ledger: { ok: true }, shadow: false },
    accumulators: [], recent: [], spend: { byUser: [], byAgent: [], byModel: [], byDay: [] }, todayUsd: n,
  };
}

class MemoryStorage implements Storage {
  private readonly items = new Map<string, string>();
  get length(): number {
    return this.items.size;
  }
  clear(): void {
    this.items.clear();
  }
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  key(i: number): string | null {
    return [...this.items.keys()][i] ?? null;
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
}

/** A gateway in memory: /state answers a new snapshot each time; /events is a stream the test writes to. */
function fakeGateway(status = 200): { fetch: typeof fetch; send: (text: string) => void; end: () => void; streams: () => number; seen: { url: string; auth: string | null }[]; pulls: () => number } {
  let pulls = 0;
  let streams = 0;
  let events: ReadableStreamDefaultController<Uint8Array> | undefined;
  const seen: { url: string; auth: string | null }[] = [];
  const fake = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = String(input);
    seen.push({ url, auth: new Headers(init?.headers).get('authorization') });
    if (status !== 200) return new Response('{}', { status });
    if (url === './state') return Response.json(snapshotNumber(++pulls));
    if (url === './health') return Response.json({ ok: true });
    if (url === './events') {
      streams++;
      const body = new ReadableStream<Uint8Array>({ start: (c) => void (events = c) });
      init?.signal?.addEventListener('abort', () => events?.error(new Error('aborted')));
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    }
    return new Response('{}', { status: 404 });
  };
  return { fetch: fake as typeof fetch, send: (text) => events!.enqueue(new TextEncoder().encode(text)), end: () => events!.close(), streams: () => streams, seen, pulls: () => pulls };
}

describe('the dashboard in a browser: its channel to the gateway', () => {
  it('reads server-sent events across chunk boundaries, skipping keep-alive comments', () => {
    const r = new SseReader();
    assert.deepEqual(r.push(': tollgate events\n\n'), []);
    assert.deepEqual(r.push('event: decision\ndata: {"id":'), []);
    assert.deepEqual(r.push('"a"}\n\nevent: policy\r\ndata: {}\r\n\r\n: keep-alive\n\n'), [
      { event: 'decision', data: '{"id":"a"}' },
      { event: 'policy', data: '{}' },
    ]);
    assert.deepEqual(r.push('data: one\ndata: two\n\n'), [{ event: 'message', data: 'one\ntwo' }]);
  });

  it("builds the app's state from a snapshot: the gateway's phase, the policy in force and a rejected edit", () => {
    const s = dashboardStateOf(snapshotNumber(1), 'running');
    assert.deepEqual(s.policy, { name: 'team', hash: 'abc', source: '/etc/tollgate.yaml', rejected: { source: '/etc/tollgate.yaml', errors: ['bad'] } });
    assert.equal(s.proxy.phase, 'running');
    assert.equal(s.snapshot?.todayUsd, 1);
    assert.deepEqual(dashboardStateOf(undefined, 'restarting', 'reconnecting'), { proxy: { phase: 'restarting', restarts: 0, detail: 'reconnecting' }, policy: {} });
  });

  it('pulls a whole snapshot on connecting and again on each event, sending the token only as a header', async () => {
    const gw = fakeGateway();
    const states: DashboardState[] = [];
    const channel = browserChannel({ token: TOKEN, onRefused: () => assert.fail('refused'), signOut: () => undefined, fetch: gw.fetch, storage: new MemoryStorage() });
    const stop = channel.subscribe((s) => states.push(s));
    try {
      await eventually(() => states.some((s) => s.snapshot?.todayUsd === 1), 'the first snapshot');
      assert.equal(states.at(-1)!.proxy.phase, 'running');
      gw.send(': keep-alive\n\n');
      gw.send('event: decision\ndata: {}\n\n');
      await eventually(() => states.some((s) => s.snapshot?.todayUsd === 2), 'a snapshot after the event');
      assert.equal(gw.pulls(), 2, 'a keep-alive asks for nothing');
      for (const r of gw.seen) {
        assert.equal(r.auth, `Bearer ${TOKEN}`, r.url);
        assert.ok(!r.url.includes(TOKEN));
      }
    } finally {
      stop();
    }
  });

  it('says the live stream dropped, then reconnects and pulls a fresh snapshot (a gateway restart)', async () => {
    const gw = fakeGateway();
    const states: DashboardState[] = [];
    const channel = browserChannel({ token: TOKEN, onRefused: () => assert.fail('refused'), signOut: () => undefined, fetch: gw.fetch, storage: new MemoryStorage() });
    const stop = channel.subscribe((s) => states.push(s));
    try {
      await eventually(() => states.some((s) => s.snapshot?.todayUsd === 1), 'the first snapshot');
      gw.end();
      await eventually(() => states.some((s) => s.proxy.phase === 'restarting' && /reconnecting/.test(s.proxy.detail ?? '')), 'the drop to be shown');
      assert.equal(states.at(-1)!.snapshot?.todayUsd, 1, 'the last snapshot stays on screen meanwhile');
      await eventually(() => gw.streams() === 2 && states.at(-1)!.proxy.phase === 'running' && states.at(-1)!.snapshot?.todayUsd === 2, 'a new stream and a fresh snapshot', 10_000);
    } finally {
      stop();
    }
  });

  it('gives up and asks for the login again when the gateway refuses the token', async () => {
    const gw = fakeGateway(401);
    let refused = 0;
    const channel = browserChannel({ token: TOKEN, onRefused: () => refused++, signOut: () => undefined, fetch: gw.fetch, storage: new MemoryStorage() });
    const stop = channel.subscribe(() => undefined);
    await eventually(() => refused > 0, 'the refusal');
    stop();
    assert.equal(await tokenAccepted('wrong', gw.fetch), false);
    assert.equal(await tokenAccepted(TOKEN, fakeGateway().fetch), true);
  });

  it("keeps the view's filters in the tab's storage, and only those", () => {
    const storage = new MemoryStorage();
    const channel = browserChannel({ token: TOKEN, onRefused: () => undefined, signOut: () => undefined, fetch: fakeGateway().fetch, storage });
    assert.equal(channel.run, undefined, "a browser offers none of the editor's commands");
    channel.saveView({ filters: { identity: 'alice', model: '', outcome: 'refuse' } });
    assert.deepEqual(channel.savedView(), { filters: { identity: 'alice', model: '', outcome: 'refuse' } });
    for (let i = 0; i < storage.length; i++) assert.ok(!storage.getItem(storage.key(i)!)!.includes(TOKEN));
  });
});

describe('spend over time by person, agent or model', () => {
  const row = (key: string, usd: number): SpendRow => ({ key, requests: 1, input_tokens: 1, output_tokens: 1, usd });

  it('lists the days that end with the snapshot, oldest first', () => {
    assert.deepEqual(daysEndingAt('2026-03-01T10:00:00.000Z', 3), ['2026-02-27', '2026-02-28', '2026-03-01']);
    assert.deepEqual(daysEndingAt('not a time', 3), []);
  });

  it('draws a line per key with zero on days it spent nothing, the biggest first, the rest as others', () => {
    const days = ['2026-03-01', '2026-03-02', '2026-03-03'];
    const rows = [row('2026-03-01 ana@acme.dev', 1), row('2026-03-03 ana@acme.dev', 2), row('2026-03-02 bo@acme.dev', 5), row('2026-03-02 cy@acme.dev', 0.5), row('2026-03-03 di@acme.dev', 0.25), row('2026-02-01 ana@acme.dev', 100)];
    const all = spendLines(rows, days, '', 2);
    assert.deepEqual(all.xs, days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000));
    assert.deepEqual(all.lines, [
      { label: 'bo@acme.dev', usd: [0, 5, 0] },
      { label: 'ana@acme.dev', usd: [1, 0, 2] },
      { label: 'others (2)', usd: [0, 0.5, 0.25] },
    ]);
    assert.deepEqual(spendLines(rows, days, 'ANA').lines, [{ label: 'ana@acme.dev', usd: [1, 0, 2] }]);
    assert.deepEqual(spendLines([row('2026-03-01 ana@acme.dev/ci run', 1)], days, '').lines[0]!.label, 'ana@acme.dev/ci run', 'a key may hold spaces');
  });
});
