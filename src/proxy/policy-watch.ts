import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Watches a policy file and reports each new content once. The directory is watched, not the
 * file, because editors save by writing a new file and renaming it over the old one; a slow poll
 * backs the watcher up on file systems that drop events.
 */
export class PolicyFileWatcher {
  private watcher?: fs.FSWatcher;
  private timer?: NodeJS.Timeout;
  private lastHash: string;
  private closed = false;

  constructor(
    private readonly file: string,
    initialText: string,
    private readonly onChange: (text: string) => void,
    private readonly onError: (err: Error) => void,
  ) {
    this.lastHash = createHash('sha256').update(initialText).digest('hex');
    const dir = path.dirname(file);
    const base = path.basename(file);
    try {
      this.watcher = fs.watch(dir, (_event, name) => {
        if (!name || name === base) this.schedule();
      });
      this.watcher.on('error', () => undefined);
    } catch {
      // Polling alone still works.
    }
    fs.watchFile(file, { interval: 1000, persistent: false }, () => this.schedule());
  }

  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.check(), 100);
  }

  /** Reads the file now and reports it if its content changed. */
  check(): void {
    if (this.closed) return;
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // mid-rename; the next event brings it
      this.onError(err as Error);
      return;
    }
    const hash = createHash('sha256').update(text).digest('hex');
    if (hash === this.lastHash) return;
    this.lastHash = hash;
    this.onChange(text);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.watcher?.close();
    fs.unwatchFile(this.file);
  }
}
