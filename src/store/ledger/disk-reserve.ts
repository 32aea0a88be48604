/*
 * The free space the ledger leaves on its disk. Writing until the disk is full would fail the
 * next write half done and starve whatever else shares the disk (the editor, the system, the
 * journal's own head and index); stopping at a reserve fails closed while there is still room, so
 * the proxy answers 503 and the journal stays whole. Free space is read with statfs at most once
 * per interval, and in between the ledger counts what it wrote itself: a burst that would cross
 * the reserve before the next reading triggers one at once.
 */

export const DEFAULT_DISK_RESERVE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_DISK_CHECK_MS = 1000;

/** What the ledger throws (as a write error) when the reserve would be crossed. */
export class LowDiskSpace extends Error {
  readonly code = 'ELOWSPACE';
  constructor(readonly freeBytes: number, readonly reserveBytes: number) {
    super(`${mib(freeBytes)} free on the ledger's disk, below the ${mib(reserveBytes)} reserve it keeps; new calls are refused until space is freed`);
    this.name = 'LowDiskSpace';
  }
}

function mib(bytes: number): string {
  return `${(Math.max(0, bytes) / (1024 * 1024)).toFixed(1)} MiB`;
}

export class DiskReserve {
  private free = Number.POSITIVE_INFINITY;
  private readAt = Number.NEGATIVE_INFINITY;
  private writtenSince = 0;

  constructor(
    private readonly dir: string,
    private readonly reserveBytes: number,
    private readonly intervalMs: number,
    /** Free bytes on the file system holding `dir` (statfs; tests inject a disk that fills up). */
    private readonly probe: (dir: string) => number,
    private readonly clock: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.reserveBytes > 0;
  }

  /** Throws LowDiskSpace when writing `bytes` more would leave less than the reserve; `fresh` reads the disk now. */
  ensure(bytes: number, fresh = false): void {
    if (!this.enabled) return;
    const now = this.clock();
    if (fresh || now - this.readAt >= this.intervalMs || this.free - this.writtenSince - bytes < this.reserveBytes) {
      this.free = this.probe(this.dir);
      this.readAt = now;
      this.writtenSince = 0;
    }
    const left = this.free - this.writtenSince - bytes;
    if (left < this.reserveBytes) throw new LowDiskSpace(this.free - this.writtenSince, this.reserveBytes);
  }

  /** Bytes the journal grew by since the last reading. */
  wrote(bytes: number): void {
    this.writtenSince += bytes;
  }
}
