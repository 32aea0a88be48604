// The dashboard's channel in a browser on a team gateway: the admin API over HTTP with the admin
// token as a Bearer header. The state is /_tollgate/state; the live stream is /_tollgate/events,
// read with a streaming fetch because EventSource cannot send an Authorization header. Every
// event asks for a fresh snapshot, so the page, like the webview, only ever shows whole states.

import type { ResumeRequest, ResumeResponse, StateSnapshot } from '../../src/contracts/admin';
import type { DashboardState, ProxyPhase } from '../../src/protocol';
import type { HostChannel } from './host-channel';

// Relative to the page (served at /_tollgate/), so it also works behind a proxy that mounts the gateway under a path.
const ADMIN = '.';
const VIEW_KEY = 'tollgate.dashboard.view';
const MAX_BACKOFF_MS = 15_000;

/** The admin API answered 401: the token is wrong or was rotated. */
export class TokenRefusedError extends Error {
  readonly reason = 'token-refused';
  constructor() {
    super('the gateway refused the admin token');
  }
  static is(err: unknown): err is TokenRefusedError {
    return err instanceof TokenRefusedError;
  }
}

/** One server-sent event: its `event:` name and its joined `data:` lines. */
export interface SseEvent {
  readonly event: string;
  readonly data: string;
}

/** Cuts a text/event-stream into events as its chunks arrive; comments (keep-alives) yield nothing. */
export class SseReader {
  private buffer = '';

  push(chunk: string): SseEvent[] {
    this.buffer += chunk.replace(/\r\n?/g, '\n');
    const out: SseEvent[] = [];
    for (let end = this.buffer.indexOf('\n\n'); end >= 0; end = this.buffer.indexOf('\n\n')) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = '';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (event !== '' || data.length > 0) out.push({ event: event || 'message', data: data.join('\n') });
    }
    return out;
  }
}

/** The state the app draws, from the gateway's snapshot (its health names the policy in force). */
export function dashboardStateOf(snapshot: StateSnapshot | undefined, phase: ProxyPhase, detail?: string): DashboardState {
  const health = snapshot?.health;
  return {
    proxy: { phase, restarts: 0, ...(detail === undefined ? {} : { detail }) },
    policy: health
      ? { name: health.policy.name, hash: health.policy.hash, source: health.policy.source, ...(health.policyError ? { rejected: health.policyError } : {}) }
      : {},
    ...(snapshot ? { snapshot } : {}),
  };
}

export interface BrowserChannelOptions {
  readonly token: string;
  /** The token was refused (wrong, or rotated while the page was open). */
  readonly onRefused: () => void;
  readonly signOut: () => void;
  readonly fetch?: typeof fetch;
  readonly storage?: Storage;
}

function authorized(token: string): RequestInit {
  return { headers: { authorization: `Bearer ${token}` }, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' };
}

/** Checks a token against the gateway before keeping it: true when the admin API accepts it. */
export async function tokenAccepted(token: string, fetcher: typeof fetch = fetch): Promise<boolean> {
  const res = await fetcher(`${ADMIN}/health`, authorized(token));
  if (res.status === 401) return false;
  if (!res.ok) throw new Error(`the gateway answered ${res.status}`);
  return true;
}

export function browserChannel(o: BrowserChannelOptions): HostChannel {
  const fetcher = o.fetch ?? ((input: RequestInfo | URL, init?: RequestInit): Promise<Response> => fetch(input, init));
  const storage = o.storage ?? window.sessionStorage;
  let onState: ((state: DashboardState) => void) | undefined;
  let snapshot: StateSnapshot | undefined;
  let phase: ProxyPhase = 'starting';
  let detail: string | undefined;
  let pulling = false;
  let again = false;
  let stopped = false;
  let stream: AbortController | undefined;

  const emit = (): void => onState?.(dashboardStateOf(snapshot, phase, detail));
  const refused = (): void => {
    stopped = true;
    stream?.abort();
    o.onRefused();
  };

  // One snapshot request at a time; events arriving meanwhile ask for exactly one more.
  const pull = async (): Promise<void> => {
    if (pulling) {
      again = true;
      return;
    }
    pulling = true;
    try {
      do {
        again = false;
        const res = await fetcher(`${ADMIN}/state`, authorized(o.token));
        if (res.status === 401) throw new TokenRefusedError();
        if (!res.ok) throw new Error(`the gateway answered ${res.status}`);
        snapshot = (await res.json()) as StateSnapshot;
        // A failed read is over once one succeeds; a dropped stream says so until it is back.
        if (phase === 'failed') {
          phase = 'running';
          detail = undefined;
        }
        emit();
      } while (again && !stopped);
    } catch (err) {
      if (TokenRefusedError.is(err)) return refused();
      phase = 'failed';
      detail = `Cannot read the gateway's state: ${(err as Error).message}`;
      emit();
    } finally {
      pulling = false;
    }
  };

  const follow = async (): Promise<void> => {
    let backoff = 1_000;
    while (!stopped) {
      stream = new AbortController();
      try {
        const res = await fetcher(`${ADMIN}/events`, { ...authorized(o.token), signal: stream.signal });
        if (res.status === 401) throw new TokenRefusedError();
        if (!res.ok || !res.body) throw new Error(`the gateway answered ${res.status}`);
        phase = 'running';
        detail = undefined;
        backoff = 1_000;
        void pull();
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        const sse = new SseReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          if (sse.push(value).length > 0) void pull();
        }
        if (stopped) return;
        throw new Error('the live stream closed');
      } catch (err) {
        if (stopped) return;
        if (TokenRefusedError.is(err)) return refused();
        phase = 'restarting';
        detail = `${(err as Error).message}; reconnecting…`;
        emit();
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
      }
    }
  };

  return {
    hostLabel: 'gateway',
    subscribe(listener: (state: DashboardState) => void): () => void {
      onState = listener;
      stopped = false;
      void follow();
      return () => {
        stopped = true;
        onState = undefined;
        stream?.abort();
      };
    },
    refresh: () => void pull(),
    savedView(): unknown {
      try {
        return JSON.parse(storage.getItem(VIEW_KEY) ?? 'null') as unknown;
      } catch {
        return undefined;
      }
    },
    saveView: (view) => storage.setItem(VIEW_KEY, JSON.stringify(view)),
    async resume(target: ResumeRequest): Promise<string> {
      const init = authorized(o.token);
      const res = await fetcher(`${ADMIN}/identity/resume`, { ...init, method: 'POST', headers: { ...(init.headers as Record<string, string>), 'content-type': 'application/json' }, body: JSON.stringify(target) });
      if (res.status === 401) {
        refused();
        throw new TokenRefusedError();
      }
      const body = (await res.json().catch(() => undefined)) as (ResumeResponse & { error?: { message?: string } }) | undefined;
      if (!res.ok) throw new Error(body?.error?.message ?? `the gateway answered ${res.status}`);
      void pull();
      return `resumed ${(body?.resumed ?? []).map((s) => s.key).join(', ')}`;
    },
    signOut: o.signOut,
  };
}
