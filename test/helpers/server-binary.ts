import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

// Servers the tests run for real (redis-server, prometheus) come from Debian's packages: a script
// under scripts/ prints the binary's path, installing the package first when it is missing, so a
// clean CI machine runs those tests instead of skipping them.

const found = new Map<string, Promise<string>>();

/**
 * The path `scripts/<script>` prints; it runs once per test run. Rejects with the script's reason
 * (saying which tests needed `what`) when the binary cannot be had.
 */
export function ensureServerBinary(script: string, what: string): Promise<string> {
  let binary = found.get(script);
  if (!binary) {
    binary = new Promise((resolvePath, reject) => {
      execFile('bash', [resolve(__dirname, '../../scripts', script)], { timeout: 300_000 }, (err, stdout, stderr) => {
        const path = stdout.trim().split('\n').pop() ?? '';
        if (err || !path) reject(new Error(`cannot get ${what} (scripts/${script}): ${stderr.trim() || err?.message}`));
        else resolvePath(path);
      });
    });
    found.set(script, binary);
  }
  return binary;
}
