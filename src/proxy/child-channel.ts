import type { LogLevel } from './log';

// What a proxy started by the editor tells it, over the IPC channel of its process: that it
// listens (and where), and each log record with its level. Stdout stays for people reading a
// terminal; nothing the editor relies on is parsed out of it.

export type ChildMessage =
  | { readonly type: 'listening'; readonly url: string }
  | { readonly type: 'log'; readonly level: LogLevel; readonly message: string };

export type ParentChannel = (message: ChildMessage) => void;

const levels: ReadonlySet<unknown> = new Set<LogLevel>(['debug', 'info', 'warn', 'error']);

export function isChildMessage(value: unknown): value is ChildMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  if (m.type === 'listening') return typeof m.url === 'string';
  return m.type === 'log' && levels.has(m.level) && typeof m.message === 'string';
}

/** The channel to the process that started this one with an IPC channel, or undefined when there is none. */
export function parentChannel(): ParentChannel | undefined {
  const send = process.send?.bind(process);
  if (!send || !process.connected) return undefined;
  // The channel must not keep the proxy alive once it has stopped.
  process.channel?.unref();
  return (message) => {
    if (process.connected) send(message);
  };
}
