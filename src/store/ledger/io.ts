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
}

function writeAll(fd: number, data: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (offset: number): void => {
      if (offset >= data.length) return resolve();
      fs.write(fd, data, offset, data.length - offset, position + offset, (err, n) => {
        if (err) return reject(err);
        step(offset + n);
      });
    };
    step(0);
  });
}

export const nodeIo: LedgerIo = {
  write: writeAll,
  fsync: (fd) => new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve()))),
  truncate: (fd, length) => new Promise((resolve, reject) => fs.ftruncate(fd, length, (err) => (err ? reject(err) : resolve()))),
};

/** Makes a new directory entry durable (a new segment file survives power loss). */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
