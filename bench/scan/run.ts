// Scanner benchmark: files/s and MB/s for tollgate scan, beside secretlint on the same tree in
// the same run, and which planted keys each found. Run: npx tsx bench/scan/run.ts [--files N] [--no-peers]
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync, mkdtempSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { PlantedKey } from './generate';
import { generateTree } from './generate';

interface Located {
  readonly file: string;
  readonly line: number;
}

interface Measured {
  readonly tool: string;
  readonly seconds: number;
  readonly found: readonly Located[];
  readonly exit: number | null;
}

const root = path.resolve(__dirname, '../..');

function timed(tool: string, command: string, args: string[], cwd: string, parse: (stdout: string) => Located[]): Measured {
  const started = process.hrtime.bigint();
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 30 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // Never echo a tool's raw output: it could hold a planted key.
  if (r.status !== 0 && r.status !== 1) throw new Error(`${tool} failed with exit ${r.status}`);
  let found: Located[];
  try {
    found = parse(r.stdout);
  } catch {
    throw new Error(`${tool}: could not parse its report (${r.stdout.length} bytes)`);
  }
  return { tool, seconds, found, exit: r.status };
}

function tollgateFindings(stdout: string): Located[] {
  return (JSON.parse(stdout) as { findings: Array<{ file: string; line: number }> }).findings.map((f) => ({ file: f.file, line: f.line }));
}

// secretlint's unix format: "file:line:col: message [error/rule]", with the secret masked.
function secretlintFindings(dir: string) {
  return (stdout: string): Located[] =>
    stdout.split('\n').flatMap((line) => {
      const m = /^(.+?):(\d+):(\d+): /.exec(line);
      return m && m[1] && m[2] ? [{ file: path.relative(dir, m[1]), line: Number(m[2]) }] : [];
    });
}

function score(planted: readonly PlantedKey[], found: readonly Located[]): { hit: number; missed: string[]; other: number } {
  const at = new Set(found.map((f) => `${f.file}:${f.line}`));
  const plantedAt = new Set(planted.map((p) => `${p.file}:${p.line}`));
  const missed = planted.filter((p) => !at.has(`${p.file}:${p.line}`)).map((p) => p.kind);
  return { hit: planted.length - missed.length, missed, other: found.filter((f) => !plantedAt.has(`${f.file}:${f.line}`)).length };
}

function main(): void {
  const { values } = parseArgs({ options: { files: { type: 'string', default: '20000' }, 'no-peers': { type: 'boolean', default: false }, keep: { type: 'boolean', default: false } } });
  const dir = mkdtempSync(path.join(tmpdir(), 'tollgate-bench-'));
  execFileSync(process.execPath, ['esbuild.js'], { cwd: root });
  const t0 = Date.now();
  const tree = generateTree(dir, Number(values.files));
  const mb = tree.bytes / 1024 / 1024;
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(1)} GB, node ${process.version}`);
  console.log(`tree: ${tree.files} files, ${mb.toFixed(1)} MB, ${tree.planted.length} planted keys (generated in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  const cli = path.join(root, 'dist', 'cli.js');
  const runs: Measured[] = [];
  const report = (r: Measured): void => {
    runs.push(r);
    const s = score(tree.planted, r.found);
    console.log(`${r.tool}: ${r.seconds.toFixed(2)} s, ${(tree.files / r.seconds).toFixed(0)} files/s, ${(mb / r.seconds).toFixed(1)} MB/s; planted found ${s.hit}/${tree.planted.length}${s.missed.length ? ` (missed: ${[...new Set(s.missed)].join(', ')})` : ''}; other findings ${s.other}`);
  };
  report(timed('tollgate scan (2 workers)', process.execPath, [cli, 'scan', '--format', 'json'], dir, tollgateFindings));
  report(timed('tollgate scan (1 thread)', process.execPath, [cli, 'scan', '--format', 'json', '--workers', '0'], dir, tollgateFindings));
  if (!values['no-peers']) {
    const secretlint = path.join(root, 'node_modules', '.bin', 'secretlint');
    report(timed('secretlint 11.7.1 (preset-recommend)', secretlint, ['--secretlintrcJSON', '{"rules":[{"id":"@secretlint/secretlint-rule-preset-recommend"}]}', '--format', 'unix', '--no-color', '**/*'], dir, secretlintFindings(dir)));
    const gitleaks = spawnSync('gitleaks', ['version'], { encoding: 'utf8' });
    if (gitleaks.status === 0) report(timed(`gitleaks ${gitleaks.stdout.trim()}`, 'gitleaks', ['dir', '--report-format', 'json', '--report-path', '/dev/stdout', '--redact', '--exit-code', '1', '.'], dir, (out) => (JSON.parse(out) as Array<{ File: string; StartLine: number }>).map((f) => ({ file: f.File, line: f.StartLine }))));
    else console.log('gitleaks: not installed (no Debian package on this machine), skipped');
    const peer = runs.find((r) => r.tool.startsWith('secretlint'));
    for (const r of runs) if (peer && r !== peer) console.log(`${r.tool}: ${(peer.seconds / r.seconds).toFixed(1)}x secretlint's speed`);
  }
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
  else console.log(`tree kept at ${dir}`);
}

main();
