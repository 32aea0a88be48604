// Reads the proxy's admin/state API (src/contracts/admin.ts): health, whole snapshots, and the
// server-sent event stream of decisions; as an approver (src/contracts/approvals.ts) also the calls
// waiting for a person, and the person's answers. node:http only; the admin token never leaves this
// module except in the Authorization header to 127.0.0.1.

import * as http from 'node:http';
import { createParser } from 'eventsource-parser';
import type { AdminEvent, HealthResponse, RevocationView, StateSnapshot, SuspensionsResponse, SuspensionView } from '../../contracts/admin';
import { ADMIN_PREFIX } from '../../contracts/admin';
import type { ApprovalAnswerRequest, ApprovalAnswerResponse, ApprovalEvent, ApprovalResolution, PendingApproval, PendingApprovalsResponse } from '../../contracts/approvals';
import { APPROVALS_PATH } from '../../contracts/approvals';

export class AdminError extends Error {
  constructor(
    readonly reason: 'unreachable' | 'unauthorized' | 'bad-response' | 'timeout',
    message: string,
  ) {
    super(message);
    this.name = 'AdminError';
  }
  static is(err: unknown, reason?: AdminError['reason']): err is AdminError {
    return err instanceof AdminError && (reason === undefined || err.reason === reason);
  }
}

export interface SseMessage {
  readonly event: string;
  readonly data: string;
}

/** Incremental parser for text/event-stream: feed chunks, get whole messages. Comments are dropped. */
export class SseParser {
  private out: SseMessage[] = [];
  private readonly parser = createParser({ onEvent: (m) => this.out.push({ event: m.event ?? 'message', data: m.data }) });

  feed(chunk: string): SseMessage[] {
    this.parser.feed(chunk);
    const out = this.out;
    this.out = [];
    return out;
  }
}

/** An event's data as a JSON object, or undefined when it is not one. */
function jsonObjectOf(data: string): object | undefined {
  try {
    const parsed: unknown = JSON.parse(data);
    return typeof parsed === 'object' && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Turns one SSE message into an AdminEvent, or undefined for an unknown or malformed one. */
export function adminEventOf(message: SseMessage): AdminEvent | undefined {
  const parsed = jsonObjectOf(message.data);
  if (!parsed) return undefined;
  // Accept both shapes a server may send: the bare payload under its event name, or the union itself.
  const p = parsed as Record<string, unknown>;
  if (p.type === 'decision' || p.type === 'settle') return typeof p.decision === 'object' ? (parsed as AdminEvent) : undefined;
  if (p.type === 'policy') return typeof p.health === 'object' ? (parsed as AdminEvent) : undefined;
  if (message.event === 'decision' || message.event === 'settle') return { type: message.event, decision: parsed as never };
  if (message.event === 'policy') return { type: 'policy', health: parsed as HealthResponse };
  if (message.event === 'suspension' || message.event === 'resumption') return isSuspensionView(parsed) ? { type: message.event, suspension: parsed } : undefined;
  if (message.event === 'revocation') return isRevocationView(parsed) ? { type: 'revocation', revocation: parsed } : undefined;
  return undefined;
}

// The editor acts on these two (a notification, the status bar), so their fields are checked, not assumed.
function isSuspensionView(v: unknown): v is SuspensionView {
  const s = v as Record<string, unknown>;
  return typeof s.key === 'string' && typeof s.user === 'string' && (s.agent === null || typeof s.agent === 'string') && typeof s.guard === 'string' && typeof s.measure === 'string' && typeof s.resume === 'string';
}

function isRevocationView(v: unknown): v is RevocationView {
  const r = v as Record<string, unknown>;
  return typeof r.id === 'string' && typeof r.target === 'string' && typeof r.value === 'string' && (r.user === null || typeof r.user === 'string') && typeof r.revoked_at === 'string';
}

/** Turns one SSE message into an ApprovalEvent, or undefined for any other or a malformed one. */
export function approvalEventOf(message: SseMessage): ApprovalEvent | undefined {
  if (message.event !== 'approval' && message.event !== 'approval-resolved') return undefined;
  const parsed = jsonObjectOf(message.data);
  if (!parsed) return undefined;
  // The bare payload under its event name, or the union itself, as adminEventOf accepts.
  const p = parsed as Record<string, unknown>;
  const payload = (p.type === message.event ? (message.event === 'approval' ? p.pending : p.resolution) : parsed) as Record<string, unknown> | undefined;
  if (typeof payload !== 'object' || payload === null || typeof payload.id !== 'string' || payload.id === '') return undefined;
  if (message.event === 'approval') {
    const ok = typeof payload.user === 'string' && typeof payload.server === 'string' && typeof payload.tool === 'string' && typeof payload.expiresAt === 'string';
    return ok ? { type: 'approval', pending: payload as unknown as PendingApproval } : undefined;
  }
  return typeof payload.outcome === 'string' ? { type: 'approval-resolved', resolution: payload as unknown as ApprovalResolution } : undefined;
}

/** Reading the stream as an approver: who answers, and where the calls waiting for them go. */
export interface ApproverListener {
  /** The person this reader asks; the proxy counts the reader as an approver while it is open. */
  readonly approver: string;
  onApproval(event: ApprovalEvent): void;
  /** The proxy accepted the stream (HTTP 200). */
  onOpen?(): void;
}

export interface EventStream {
  close(): void;
}

export class AdminClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    private readonly timeoutMs = 5_000,
  ) {}

  health(): Promise<HealthResponse> {
    return this.getJson<HealthResponse>('/health');
  }

  state(): Promise<StateSnapshot> {
    return this.getJson<StateSnapshot>('/state');
  }

  suspensions(): Promise<SuspensionsResponse> {
    return this.getJson<SuspensionsResponse>('/suspensions');
  }

  /** The calls waiting for a person, and how many approvers the proxy has. */
  pendingApprovals(): Promise<PendingApprovalsResponse> {
    return this.getJson<PendingApprovalsResponse>(APPROVALS_PATH);
  }

  /** Answers one waiting call. 404 and 409 are answers too (`ok: false` with the reason), not errors. */
  answerApproval(id: string, answer: ApprovalAnswerRequest): Promise<ApprovalAnswerResponse> {
    const route = `${APPROVALS_PATH}/${encodeURIComponent(id)}`;
    const what = `POST ${ADMIN_PREFIX}${route}`;
    return new Promise<ApprovalAnswerResponse>((resolve, reject) => {
      const body = JSON.stringify(answer);
      const req = this.request(route, 'application/json', 'POST', body);
      req.setTimeout(this.timeoutMs, () => req.destroy(new AdminError('timeout', `${what} timed out`)));
      req.on('error', (err) => reject(AdminError.is(err) ? err : new AdminError('unreachable', `${what}: ${err.message}`)));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(new AdminError('unreachable', err.message)));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status === 401 || status === 403) return reject(new AdminError('unauthorized', `${what}: ${status}`));
          let parsed: unknown;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            parsed = undefined;
          }
          const p = parsed as Partial<Record<string, unknown>> | undefined;
          if (status === 200 && p?.ok === true) return resolve(parsed as ApprovalAnswerResponse);
          if ((status === 404 || status === 409) && p?.ok === false && typeof p.reason === 'string') return resolve(parsed as ApprovalAnswerResponse);
          reject(new AdminError('bad-response', `${what}: HTTP ${status}`));
        });
      });
      req.end(body);
    });
  }

  private request(route: string, accept: string, method: 'GET' | 'POST' = 'GET', body?: string): http.ClientRequest {
    const url = new URL(`${ADMIN_PREFIX}${route}`, this.baseUrl);
    const headers: http.OutgoingHttpHeaders = { authorization: `Bearer ${this.token}`, accept };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    return http.request(url, { method, headers });
  }

  private getJson<T>(route: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const req = this.request(route, 'application/json');
      req.setTimeout(this.timeoutMs, () => req.destroy(new AdminError('timeout', `GET ${ADMIN_PREFIX}${route} timed out`)));
      req.on('error', (err) => reject(AdminError.is(err) ? err : new AdminError('unreachable', `GET ${ADMIN_PREFIX}${route}: ${err.message}`)));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(new AdminError('unreachable', err.message)));
        res.on('end', () => {
          if (res.statusCode === 401 || res.statusCode === 403) return reject(new AdminError('unauthorized', `GET ${ADMIN_PREFIX}${route}: ${res.statusCode}`));
          if (res.statusCode !== 200) return reject(new AdminError('bad-response', `GET ${ADMIN_PREFIX}${route}: HTTP ${res.statusCode}`));
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T);
          } catch {
            reject(new AdminError('bad-response', `GET ${ADMIN_PREFIX}${route}: not JSON`));
          }
        });
      });
      req.end();
    });
  }

  /**
   * Follows /events until closed; `onEnd` fires once when the stream ends or fails (not after close()).
   * With an `approver`, the proxy counts this reader as one and adds the calls waiting for a person.
   */
  events(onEvent: (event: AdminEvent) => void, onEnd: (err: AdminError) => void, approver?: ApproverListener): EventStream {
    let closed = false;
    let ended = false;
    const end = (err: AdminError): void => {
      if (closed || ended) return;
      ended = true;
      onEnd(err);
    };
    const req = this.request(approver ? `/events?approver=${encodeURIComponent(approver.approver)}` : '/events', 'text/event-stream');
    req.on('error', (err) => end(new AdminError('unreachable', `events: ${err.message}`)));
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        end(new AdminError(res.statusCode === 401 ? 'unauthorized' : 'bad-response', `events: HTTP ${res.statusCode}`));
        return;
      }
      const parser = new SseParser();
      res.setEncoding('utf8');
      if (approver && !closed) approver.onOpen?.();
      res.on('data', (chunk: string) => {
        for (const message of parser.feed(chunk)) {
          if (closed) return;
          const event = adminEventOf(message);
          if (event) onEvent(event);
          const approval = approver ? approvalEventOf(message) : undefined;
          if (approval) approver?.onApproval(approval);
        }
      });
      res.on('end', () => end(new AdminError('unreachable', 'events: stream ended')));
      res.on('error', (err) => end(new AdminError('unreachable', `events: ${err.message}`)));
    });
    req.end();
    return {
      close: (): void => {
        closed = true;
        req.destroy();
      },
    };
  }
}
