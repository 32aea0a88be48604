// Reads the proxy's admin/state API (src/contracts/admin.ts): health, whole snapshots, and the
// server-sent event stream of decisions. node:http only; the admin token never leaves this module
// except in the Authorization header to 127.0.0.1.

import * as http from 'node:http';
import { createParser } from 'eventsource-parser';
import type { AdminEvent, HealthResponse, RevocationView, StateSnapshot, SuspensionsResponse, SuspensionView } from '../../contracts/admin';
import { ADMIN_PREFIX } from '../../contracts/admin';

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

/** Turns one SSE message into an AdminEvent, or undefined for an unknown or malformed one. */
export function adminEventOf(message: SseMessage): AdminEvent | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message.data);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
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

  private request(route: string, accept: string): http.ClientRequest {
    const url = new URL(`${ADMIN_PREFIX}${route}`, this.baseUrl);
    return http.request(url, { method: 'GET', headers: { authorization: `Bearer ${this.token}`, accept } });
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

  /** Follows /events until closed; `onEnd` fires once when the stream ends or fails (not after close()). */
  events(onEvent: (event: AdminEvent) => void, onEnd: (err: AdminError) => void): EventStream {
    let closed = false;
    let ended = false;
    const end = (err: AdminError): void => {
      if (closed || ended) return;
      ended = true;
      onEnd(err);
    };
    const req = this.request('/events', 'text/event-stream');
    req.on('error', (err) => end(new AdminError('unreachable', `events: ${err.message}`)));
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        end(new AdminError(res.statusCode === 401 ? 'unauthorized' : 'bad-response', `events: HTTP ${res.statusCode}`));
        return;
      }
      const parser = new SseParser();
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        for (const message of parser.feed(chunk)) {
          const event = adminEventOf(message);
          if (event && !closed) onEvent(event);
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
