import type { PolicyRef, RefusalsBody } from '../../contracts/audit-records';

/** One kind of refusal within a window: its status, stable reason and (known) provider. */
export interface RefusalKey {
  readonly status: number;
  readonly reason: string;
  readonly provider: string;
}

interface Window {
  readonly from: number;
  readonly counts: Map<string, RefusalKey & { count: number }>;
  readonly waiters: { resolve: (id: string) => void; reject: (err: Error) => void }[];
}

/**
 * Records requests refused before any identity was verified as one `refusals` record per window
 * (about a second), counted per kind, instead of one signed, fsynced record each: otherwise any
 * local process could fill the disk, after which every call is refused. Each refused client is
 * answered with the id of the record that counts it, once that record is durable. A refusal after
 * a quiet second is written at once; under a flood they are written once per interval.
 */
export class RefusalDigest {
  private window?: Window;
  private timer?: NodeJS.Timeout;
  private lastWrite = Number.NEGATIVE_INFINITY;

  constructor(
    /** Appends the record; resolves with its id once it is durable. */
    private readonly write: (body: RefusalsBody) => Promise<string>,
    private readonly policy: () => PolicyRef,
    private readonly intervalMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one refusal; resolves with the id of the record that holds it, once that is durable. */
  add(key: RefusalKey): Promise<string> {
    const w: Window = (this.window ??= { from: this.now(), counts: new Map(), waiters: [] });
    const k = `${key.status} ${key.reason} ${key.provider}`;
    const entry = w.counts.get(k);
    if (entry) entry.count++;
    else w.counts.set(k, { ...key, count: 1 });
    const counted = new Promise<string>((resolve, reject) => w.waiters.push({ resolve, reject }));
    this.timer ??= setTimeout(() => this.flush(), Math.max(0, this.lastWrite + this.intervalMs - performance.now()));
    return counted;
  }

  /** Writes what is counted now (on shutdown, so no refused client waits on a closed ledger). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const w = this.window;
    if (!w) return;
    this.window = undefined;
    this.lastWrite = performance.now();
    const body: RefusalsBody = {
      kind: 'refusals',
      window: { from: new Date(w.from).toISOString(), to: new Date(this.now()).toISOString() },
      counts: [...w.counts.values()].map((c) => ({ status: c.status, reason: c.reason, provider: c.provider, count: c.count })),
      policy: this.policy(),
    };
    let written: Promise<string>;
    try {
      written = this.write(body);
    } catch (err) {
      written = Promise.reject(err as Error);
    }
    written.then(
      (id) => w.waiters.forEach((x) => x.resolve(id)),
      (err: Error) => w.waiters.forEach((x) => x.reject(err)),
    );
  }
}
