import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** A throwaway git repository in the temp directory, with a local identity. */
export class TempRepo {
  readonly dir: string;

  constructor(init = true) {
    this.dir = mkdtempSync(path.join(tmpdir(), 'tollgate-scan-'));
    if (init) {
      this.git('init', '-q', '-b', 'main');
      this.git('config', 'user.email', 'dev@example.test');
      this.git('config', 'user.name', 'Scanner Test');
      this.git('config', 'commit.gpgsign', 'false');
    }
  }

  git(...args: string[]): string {
    return execFileSync('git', args, { cwd: this.dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  write(relative: string, content: string | Buffer): string {
    const file = path.join(this.dir, relative);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    return file;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
