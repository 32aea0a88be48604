import { StringDecoder } from 'node:string_decoder';

/**
 * Splits a server-sent-event byte stream into whole events as chunks arrive. Only a partial event
 * is ever held back, so the proxy can forward each event the moment it is complete.
 */
export class SseSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  push(chunk: Buffer): string[] {
    this.pending += this.decoder.write(chunk);
    const events: string[] = [];
    for (;;) {
      const m = /\r?\n\r?\n/.exec(this.pending);
      if (!m) break;
      events.push(this.pending.slice(0, m.index));
      this.pending = this.pending.slice(m.index + m[0].length);
    }
    return events;
  }

  /** What is left when the stream ends: an event the upstream never finished. */
  rest(): string {
    return this.pending + this.decoder.end();
  }
}

export interface SseEvent {
  readonly name?: string;
  /** The joined `data:` lines, or undefined for an event without data (a comment, a retry). */
  readonly data?: string;
}

export function parseSseEvent(raw: string): SseEvent {
  let name: string | undefined;
  const data: string[] = [];
  for (const line of raw.split(/\r?\n/)) {
    if (line.startsWith('data:')) data.push(line.slice(line[5] === ' ' ? 6 : 5));
    else if (line.startsWith('event:')) name = line.slice(line[6] === ' ' ? 7 : 6).trim();
  }
  return { name, data: data.length > 0 ? data.join('\n') : undefined };
}

/** The event with its data replaced; other fields (event, id, retry, comments) are kept. */
export function rebuildSseEvent(raw: string, data: string): string {
  const kept = raw.split(/\r?\n/).filter((l) => !l.startsWith('data:'));
  return [...kept, ...data.split('\n').map((d) => `data: ${d}`)].join('\n');
}
