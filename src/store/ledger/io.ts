import * as fs from 'node:fs';

/**
 * The writes the ledger makes after open, behind one interface so tests can make the disk "fill
 * up" or "turn read-only" and then recover. Tests may run as root, where chmod does not stop
 * writes, so a faulty LedgerIo is how the failure paths are proved.
 */
export interface LedgerIo {
  write(fd: number, data: Buffer, position: number): Promise<void>;
  /** Data sync: the bytes and the file size, which is what a reader after a crash needs. */
  fsync(fd: number): Promise<void>;
  truncate(fd: number, length: number): Promise<void>;
  /** Free bytes (for this user) on the file system holding `dir`; statfs when absent. */
  freeBytes?(dir: string): number;
}

function settled(run: () => void): Promise<void> {
  try {
    run();
    return Promise.resolve();
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

/**
 * Each step is done synchronously. A batch's journal write, fdatasync and signed-head
 * write then finish within one turn of the event loop (about a millisecond on local disks)
 * instead of waiting four turns behind every request the proxy is serving; under load those
 * turns, not the disk, were what made a decision wait for durability (bench/README.md, Proxy).
 */
export const nodeIo: LedgerIo = {
  write: (fd, data, position) =>
    settled(() => {
      let offset = 0;
      while (offset < data.length) offset += fs.writeSync(fd, data, offset, data.length - offset, position + offset);
    }),
  fsync: (fd) => settled(() => fs.fdatasyncSync(fd)),
  truncate: (fd, length) => settled(() => fs.ftruncateSync(fd, length)),
  freeBytes: statfsFreeBytes,
};

/** Free bytes an unprivileged writer may use; a file system statfs cannot read counts as unlimited. */
export function statfsFreeBytes(dir: string): number {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** Makes a new directory entry durable (a new segment file survives power loss). */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
