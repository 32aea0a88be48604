// A small admin server speaking the approval part of src/contracts/approvals.ts, for tests of the
// editor's approver: the event stream with `approver=`, the list of waiting calls, answers (404 for
// an unknown call, 409 for one already decided or timed out), and a restart that forgets everything.

import type * as http from 'node:http';
import { ADMIN_PREFIX } from '../../../src/contracts/admin';
import type { ApprovalAnswerRequest, ApprovalAnswerResponse, ApprovalResolution, PendingApproval, PendingApprovalsResponse } from '../../../src/contracts/approvals';
import { APPROVALS_PATH } from '../../../src/contracts/approvals';
import { LoopbackServer } from '../../helpers/loopback-server';

export function pendingApproval(id: string, over: Partial<PendingApproval> = {}): PendingApproval {
  return {
    id,
    user: 'alice@acme.dev',
    agent: 'claude-code',
    session: 'session-1',
    server: 'everything',
    tool: 'echo',
    toolName: 'mcp__everything__echo',
    arguments: { message: 'hello' },
    argumentsSha256: 'a'.repeat(64),
    askedAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 60_000).toISOString(),
    ...over,
  };
}

export class FakeApprovalsAdmin extends LoopbackServer {
  readonly token = 'fake-admin-token-approvals-0123';
  /** The `approver` of every stream opened, in order. */
  readonly approversSeen: string[] = [];
  /** Every answer posted, with the id it named. */
  readonly answers: (ApprovalAnswerRequest & { id: string })[] = [];
  private readonly streams = new Map<http.ServerResponse, string | null>();
  private readonly pending = new Map<string, PendingApproval>();
  private readonly ended = new Map<string, ApprovalResolution>();
  /** While true, the event stream is refused (503): a proxy on its way down. */
  refuseStreams = false;

  protected handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.headers.authorization !== `Bearer ${this.token}`) return void res.writeHead(401).end();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = url.pathname.slice(ADMIN_PREFIX.length);
    if (req.method === 'GET' && route === '/events') {
      if (this.refuseStreams) return void res.writeHead(503).end();
      const approver = url.searchParams.get('approver');
      if (approver) this.approversSeen.push(approver);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': tollgate events\n\n');
      this.streams.set(res, approver);
      res.on('close', () => this.streams.delete(res));
      return;
    }
    if (req.method === 'GET' && route === APPROVALS_PATH) {
      const body: PendingApprovalsResponse = { pending: [...this.pending.values()], approvers: this.approvers };
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    }
    if (req.method === 'POST' && route.startsWith(`${APPROVALS_PATH}/`)) {
      const id = decodeURIComponent(route.slice(APPROVALS_PATH.length + 1));
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ApprovalAnswerRequest;
        this.answers.push({ id, ...answer });
        const [status, body] = this.decide(id, answer);
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
      return;
    }
    res.writeHead(404).end();
  }

  private decide(id: string, a: ApprovalAnswerRequest): [number, ApprovalAnswerResponse] {
    const ended = this.ended.get(id);
    if (ended) return [409, { ok: false, reason: ended.outcome === 'timeout' ? 'expired' : 'already-decided', message: `call ${id} already ended: ${ended.outcome}` }];
    if (!this.pending.has(id)) return [404, { ok: false, reason: 'unknown', message: `no call ${id} waits for approval` }];
    const resolution: ApprovalResolution = a.answer === 'deny' ? { id, outcome: 'denied', by: a.by, scope: null } : { id, outcome: 'allowed', by: a.by, scope: a.answer === 'allow-once' ? 'once' : 'session' };
    this.resolve(resolution);
    return [200, { ok: true, resolution }];
  }

  /** How many open streams said they ask a person. */
  get approvers(): number {
    return [...this.streams.values()].filter((a) => a !== null).length;
  }

  /** A call starts waiting: listed, and announced to every approver, the payload under its event name. */
  announce(p: PendingApproval): void {
    this.pending.set(p.id, p);
    this.send('approval', p);
  }

  /** Lists a call as waiting without announcing it (it started before the approver connected). */
  listOnly(p: PendingApproval): void {
    this.pending.set(p.id, p);
  }

  /** Sends an announcement again, as a proxy might after a hiccup. */
  repeat(id: string): void {
    const p = this.pending.get(id);
    if (p) this.send('approval', p);
  }

  /** The call's wait ends unanswered: refused, announced, and a later answer gets 409. */
  expire(id: string, o: { announce?: boolean } = {}): void {
    this.resolve({ id, outcome: 'timeout', by: null, scope: null }, o.announce ?? true);
  }

  private resolve(resolution: ApprovalResolution, announce = true): void {
    this.pending.delete(resolution.id);
    this.ended.set(resolution.id, resolution);
    if (announce) this.send('approval-resolved', resolution);
  }

  private send(event: string, payload: unknown): void {
    // Split across writes, as a socket may deliver it.
    const text = `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`;
    const cut = Math.floor(text.length / 2);
    for (const [s, approver] of this.streams) {
      if (approver === null) continue;
      s.write(text.slice(0, cut));
      s.write(text.slice(cut));
    }
  }

  /** A proxy restart: every stream ends and every call waiting or ended is forgotten. */
  restart(): void {
    for (const s of this.streams.keys()) s.end();
    this.pending.clear();
    this.ended.clear();
  }
}
