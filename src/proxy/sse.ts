import { StringDecoder } from 'node:string_decoder';
import { createParser } from 'eventsource-parser';
import type { EventSourceParser } from 'eventsource-parser';

export interface SseEvent {
  readonly name?: string;
  readonly id?: string;
  /** The joined `data:` lines. */
  readonly data: string;
}

export interface SseHandlers {
  /** A whole event, the moment its blank line arrives. */
  event(ev: SseEvent): void;
  /** A comment or a `retry:` field, as text to send on when events are re-written. */
  other?(text: string): void;
}

/**
 * Reads a server-sent-event byte stream as chunks arrive and hands over each whole event. Bytes
 * are decoded across chunk boundaries; only a partial event is ever held back.
 */
export class SseReader {
  private readonly decoder = new StringDecoder('utf8');
  private readonly parser: EventSourceParser;

  constructor(handlers: SseHandlers) {
    const other = handlers.other;
    this.parser = createParser({
      onEvent: (m) => handlers.event({ name: m.event, id: m.id, data: m.data }),
      onComment: other ? (c): void => other(`: ${c}\n\n`) : undefined,
      onRetry: other ? (ms): void => other(`retry: ${ms}\n\n`) : undefined,
    });
  }

  push(chunk: Buffer): void {
    this.parser.feed(this.decoder.write(chunk));
  }

  /** The stream ended: an event the upstream never finished is handed over as it stands. */
  end(): void {
    this.parser.feed(`${this.decoder.end()}\n\n`);
  }
}

/** One event as text on the wire, with `data` in place of its own. */
export function writeSseEvent(ev: SseEvent, data: string = ev.data): string {
  const head = `${ev.name !== undefined ? `event: ${ev.name}\n` : ''}${ev.id !== undefined ? `id: ${ev.id}\n` : ''}`;
  return `${head}${data.split('\n').map((d) => `data: ${d}`).join('\n')}\n\n`;
}
