// The one typed channel between the extension host and the dashboard webview. Both sides import
// this module; every message is `{ method, params }` and each kind has a static `is()` guard, so a
// stray or stale message is ignored rather than trusted. Notifications carry whole snapshots: the
// webview never merges partial updates.

import type { StateSnapshot } from './contracts/admin';

export type ProxyPhase = 'stopped' | 'starting' | 'running' | 'restarting' | 'failed';

/** What the host knows about its proxy child; never the port or a token. */
export interface ProxyStatus {
  readonly phase: ProxyPhase;
  /** A sentence for people: why it failed, when it restarts. */
  readonly detail?: string;
  readonly restarts: number;
}

/** The bundle in force and, when the last edit was refused, why it was not applied. */
export interface PolicyNotice {
  readonly name?: string;
  readonly hash?: string;
  readonly source?: string;
  readonly rejected?: { readonly source: string; readonly errors: readonly string[] };
}

export interface DashboardState {
  readonly proxy: ProxyStatus;
  readonly policy: PolicyNotice;
  readonly snapshot?: StateSnapshot;
  /** The developer this editor's session token names (no token). */
  readonly user?: string;
}

interface Message<M extends string, P> {
  readonly method: M;
  readonly params: P;
}

interface MessageType<M extends string, P> {
  readonly method: M;
  is(msg: unknown): msg is Message<M, P>;
  create(params: P): Message<M, P>;
}

function messageType<M extends string, P>(method: M, paramsOk: (p: unknown) => boolean): MessageType<M, P> {
  return {
    method,
    is: (msg: unknown): msg is Message<M, P> =>
      typeof msg === 'object' && msg !== null && (msg as { method?: unknown }).method === method && paramsOk((msg as { params?: unknown }).params),
    create: (params: P): Message<M, P> => ({ method, params }),
  };
}

const isObject = (p: unknown): boolean => typeof p === 'object' && p !== null;

// Host -> webview.
/** The whole dashboard state, sent on load and within a second of every decision. */
export const StateNotification = messageType<'host/state', DashboardState>('host/state', (p) => isObject(p) && isObject((p as DashboardState).proxy));

// Webview -> host.
/** The webview's script is running and wants the current state. */
export const ReadyCommand = messageType<'webview/ready', Record<string, never>>('webview/ready', isObject);
/** Ask the host for a fresh snapshot now. */
export const RefreshCommand = messageType<'webview/refresh', Record<string, never>>('webview/refresh', isObject);
/** Run one of the extension's commands that the dashboard links to. */
export const RunCommand = messageType<'webview/run', { readonly command: DashboardCommand }>(
  'webview/run',
  (p) => isObject(p) && dashboardCommands.includes((p as { command?: unknown }).command as DashboardCommand),
);

/** The only commands the webview may ask for: an allow-list, so a compromised view cannot run arbitrary ones. */
export const dashboardCommands = ['tollgate.restartProxy', 'tollgate.showLog', 'tollgate.openPolicy'] as const;
export type DashboardCommand = (typeof dashboardCommands)[number];

export type WebviewMessage = Message<'webview/ready', Record<string, never>> | Message<'webview/refresh', Record<string, never>> | Message<'webview/run', { readonly command: DashboardCommand }>;
