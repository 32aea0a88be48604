import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { spawnThread } from '../../workers/thread';
import type { DetectorName } from '../../engine/classify';
import type { BodyWhere, Described } from '../../pipeline/describe-port';
import { DescribeThreadError, fromWire } from './job';
import { describeThreadMarker } from './role';
import type { DescribeJob, DescribeReply } from './thread';

/**
 * Bundled (dist/cli.js), the thread runs the bundle itself, which notices it is a describe
 * thread; from sources it loads thread.ts through tsx.
 */
export function spawnDescribeThread(): Worker {
  return spawnThread(describeThreadMarker, path.join(__dirname, 'thread.ts'));
}

interface Pending {
  readonly job: DescribeJob;
  resolve(d: Described): void;
  reject(err: Error): void;
}

/** A body's bytes arrive as a plain Uint8Array; the request thread works with Buffers. */
function withBuffer(d: Described): Described {
  if (d.body.kind !== 'raw') return d;
  const b = d.body.bytes as Uint8Array;
  return { ...d, body: { ...d.body, bytes: Buffer.from(b.buffer, b.byteOffset, b.byteLength) } };
}

class Slot {
  job: Pending | undefined;
  constructor(readonly worker: Worker) {}
}

/**
 * Threads that describe large bodies off the request thread: one body per thread at a time, in
 * the order they came. A thread starts when there is work for it, a lost one is replaced by the
 * next body, and all of them end after `idleMs` without work. An idle thread never keeps the
 * process alive.
 */
export class DescribePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly size: number,
    private readonly spawn: () => Worker = spawnDescribeThread,
    private readonly idleMs = 10 * 60_000,
  ) {}

  /** Threads running now, busy or not. */
  get threads(): number {
    return this.slots.length;
  }

  /** Starts a thread ahead of the first body, so that body does not wait for it to load. */
  warm(): void {
    if (this.slots.length > 0) return;
    this.start();
    this.armIdle();
  }

  /** Describes `body` on a thread. Its bytes move there: the caller must not read `body` again. */
  run(body: Buffer, route: BodyWhere, detectors: readonly DetectorName[]): Promise<Described> {
    clearTimeout(this.idleTimer);
    // A Buffer that owns all of its memory is handed over as it is; a slice of a shared one is copied.
    const owned = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
    const bytes = owned ? new Uint8Array(body.buffer, 0, body.byteLength) : new Uint8Array(body);
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { id: this.nextId++, body: bytes, route, detectors }, resolve, reject });
      this.dispatch();
    });
  }

  /** Ends every thread; bodies still waiting or being described fail. */
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const slots = this.slots.splice(0);
    const waiting = [...this.queue.splice(0), ...slots.flatMap((s) => s.job ?? [])];
    for (const p of waiting) p.reject(new DescribeThreadError('thread-lost', 'the describe threads were closed'));
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => !s.job);
      if (!slot) {
        if (this.slots.length >= this.size) return;
        slot = this.start();
      }
      const pending = this.queue.shift()!;
      slot.job = pending;
      slot.worker.ref();
      try {
        slot.worker.postMessage(pending.job, [pending.job.body.buffer as ArrayBuffer]);
      } catch (err) {
        slot.job = undefined;
        pending.reject(new DescribeThreadError('failed', `the body could not be handed to its thread: ${(err as Error).message}`));
      }
    }
  }

  private start(): Slot {
    const worker = this.spawn();
    const slot = new Slot(worker);
    this.slots.push(slot);
    worker.on('message', (reply: DescribeReply) => {
      if ('failure' in reply) this.finish(slot, (p) => p.reject(fromWire(reply.failure)));
      else this.finish(slot, (p) => p.resolve(withBuffer(reply.described)));
    });
    // The reply could not be copied onto this thread: a body nested deeper than this thread's stack.
    worker.on('messageerror', () => this.finish(slot, (p) => p.reject(new RangeError('the request body is nested too deeply to copy between threads'))));
    worker.on('error', (err) => this.lose(slot, err.message));
    worker.on('exit', (code) => this.lose(slot, `it exited with code ${code}`));
    // After the listeners: adding a 'message' listener refs the thread again.
    worker.unref();
    return slot;
  }

  private finish(slot: Slot, settle: (p: Pending) => void): void {
    const pending = slot.job;
    slot.job = undefined;
    slot.worker.unref();
    if (pending) settle(pending);
    this.dispatch();
    this.armIdle();
  }

  private armIdle(): void {
    if (this.queue.length > 0 || this.slots.some((s) => s.job)) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => void this.close(), this.idleMs).unref();
  }

  private lose(slot: Slot, why: string): void {
    const i = this.slots.indexOf(slot);
    if (i === -1) return;
    this.slots.splice(i, 1);
    slot.job?.reject(new DescribeThreadError('thread-lost', `the thread describing this request was lost: ${why}`));
    slot.job = undefined;
    this.dispatch();
  }
}
