import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HealthResponse, StateSnapshot } from '../../../src/contracts/admin';
import type { PendingApprovalsResponse } from '../../../src/contracts/approvals';
import { AdminApi } from '../../../src/proxy/admin';
import type { AdminSource } from '../../../src/proxy/admin';

// The state snapshot carries the calls waiting for a person wherever something holds them: the
// source's approvals are asked on every snapshot, and without them the field is absent.

const TOKEN = 'admin-token-for-the-approvals-test-0123456789';
const health: HealthResponse = { ok: true, version: '0', policy: { name: 'p', hash: 'h', source: 's' }, ledger: { ok: true }, shadow: false };
const snapshot: StateSnapshot = { time: '', health, accumulators: [], recent: [], spend: { byUser: [], byAgent: [], byModel: [], byDay: [] }, todayUsd: 0 };

const waiting: PendingApprovalsResponse = {
  // No reader of the event stream says it asks a person in this test.
  approvers: 0,
  pending: [{
    id: 'a1', user: 'alice@acme.dev', agent: 'claude', session: 's1', server: 'everything', tool: 'get-env', toolName: 'mcp__everything__get-env',
    arguments: { name: '[REDACTED]' }, argumentsSha256: 'f'.repeat(64), askedAt: '2026-11-27T10:00:00.000Z', expiresAt: '2026-11-27T10:01:00.000Z',
  }],
};

async function stateFrom(source: AdminSource): Promise<StateSnapshot> {
  const admin = new AdminApi(TOKEN, source);
  const server = http.createServer((req, res) => void admin.handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const r = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/_tollgate/state`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(r.status, 200);
    return (await r.json()) as StateSnapshot;
  } finally {
    admin.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

describe('admin API: pending approvals in the state snapshot', () => {
  it('adds what the approvals source reports, asked afresh for each snapshot', async () => {
    let asked = 0;
    const state = await stateFrom({ health: () => health, snapshot: async () => snapshot, approvals: {
      pending: () => (asked++, [...waiting.pending]),
      answer: () => ({ ok: false, reason: 'unknown', message: 'not in this test' }),
    } });
    assert.deepEqual(state.approvals, waiting);
    assert.equal(asked, 1);
  });

  it('leaves the field out where nothing holds calls for approval', async () => {
    const state = await stateFrom({ health: () => health, snapshot: async () => snapshot });
    assert.equal('approvals' in state, false);
  });
});
