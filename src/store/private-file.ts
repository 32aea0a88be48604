import * as fs from 'node:fs';

/**
 * Replaces a file in one step (write a temporary file beside it, mode 0600, then rename), so a
 * reader sees the old content or the new, never half of either, and a crash leaves one of them.
 */
export function writePrivateFile(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    fs.writeFileSync(tmp, content, { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
