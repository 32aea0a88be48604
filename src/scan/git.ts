import { execFile } from 'node:child_process';
import { ScanError } from './errors';

/** Runs git and returns stdout; a failure becomes a ScanError carrying git's own message. */
export function git(cwd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const reason = /not a git repository/i.test(stderr) ? 'not-a-repository' : 'git-failed';
        reject(new ScanError(reason, `git ${args[0] ?? ''} failed: ${stderr.trim() || err.message}`));
      } else resolve(stdout);
    });
  });
}

export async function repositoryTopLevel(cwd: string): Promise<string> {
  return (await git(cwd, ['rev-parse', '--show-toplevel'])).trim();
}
