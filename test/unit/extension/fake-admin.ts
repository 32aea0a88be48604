// A small admin server speaking src/proxy/admin-types.ts, for tests of the extension's client.

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdminEvent, HealthResponse, RevocationView, StateSnapshot, SuspensionView } from '../../../src/contracts/admin';
import { ADMIN_PREFIX } from '../../../src/contracts/admin';
import { adminEventPayload } from '../../../src/proxy/admin';
import type { DecisionSummary } from '../../../src/contracts/ledger-queries';

export const health: HealthResponse = { ok: true, version: '0.1.0', policy: { name: 'p', hash: 'h'.repeat(64), source: '/p.yaml' }, ledger: { ok: true }, shadow: false };

export function decision(id: string, over: Partial<DecisionSummary> = {}): DecisionSummary {
  return { id, seq: 1, time: '2026-01-02T03:04:05.000Z', user: 'dev@example.test', agent: 'vscode', model: 'gpt-4o-mini', model_served: 'gpt-4o-mini', provider: 'openai', route: '/v1/chat/completions', outcome: 'allow', status: 200, rule: null, shadow: false, settled: true, usd: 0.001, ...over };
}

export function snapshot(over: Partial<StateSnapshot> = {}): StateSnapshot {
  return {
    time: '2026-01-02T03:04:05.000Z', health, accumulators: [], recent: [],
    spend: { byUser: [], byAgent: [], byModel: [], byDay: [] }, todayUsd: 0, ...over,
  };
}

export const suspension: SuspensionView = {
  key: 'agent:dev@example.test/vscode', user: 'dev@example.test', agent: 'vscode', guard: 'divergence', measure: 'calls', recent: 41, baseline: 4, threshold: 40, ratio: 10.25,
  since: '2026-01-02T03:04:05.000Z', resume: 'tollgate identity resume --agent vscode --user dev@example.test',
};

export const revocation: RevocationView = { id: 'rv_1', target: 'user', value: 'dev@example.test', user: null, revoked_at: '2026-01-02T03:04:05.000Z', reason: null };

export class FakeAdmin {
  readonly token = 'fake-admin-token-0123456789';
  state: StateSnapshot = snapshot();
  suspensions: SuspensionView[] = [];
  private server!: http.Server;
  private readonly streams = new Set<http.ServerResponse>();
  url = '';

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      if (req.headers.authorization !== `Bearer ${this.token}`) {
        res.writeHead(401).end();
        return;
      }
      if (req.url === `${ADMIN_PREFIX}/health`) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(health));
      else if (req.url === `${ADMIN_PREFIX}/state`) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.state));
      else if (req.url === `${ADMIN_PREFIX}/suspensions`) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ suspensions: this.suspensions, baselines_at: null }));
      else if (req.url === `${ADMIN_PREFIX}/events`) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(': hello\n\n');
        this.streams.add(res);
        res.on('close', () => this.streams.delete(res));
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  get subscribers(): number {
    return this.streams.size;
  }

  /** Sends an event the way the proxy does: the payload under its event name, split across writes. */
  publish(event: AdminEvent): void {
    const text = `event: ${event.type}\ndata: ${JSON.stringify(adminEventPayload(event))}\n\n`;
    const cut = Math.floor(text.length / 2);
    for (const s of this.streams) {
      s.write(text.slice(0, cut));
      s.write(text.slice(cut));
    }
  }

  endStreams(): void {
    for (const s of this.streams) s.end();
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
