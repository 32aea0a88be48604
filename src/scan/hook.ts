import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { git } from './git';

const begin = '# >>> tollgate pre-commit >>>';
const end = '# <<< tollgate pre-commit <<<';
const chainedSuffix = '.tollgate-chained';
const shellShebang = /^#!\s*(?:\/usr\/bin\/env\s+)?(?:\/bin\/|\/usr\/bin\/)?(?:sh|bash|dash|zsh|ksh)\b/;

export type HookInstallOutcome = 'created' | 'added' | 'updated' | 'chained';
export type HookUninstallOutcome = 'removed' | 'deleted' | 'restored' | 'absent';

export interface HookLocation {
  readonly file: string;
  /** Husky keeps user hooks in `.husky/`, sourced by sh; git's own hooks live in the hooks path. */
  readonly husky: boolean;
}

function quote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * The managed block. It runs first and blocks the commit on findings (1) and on any failure
 * (2, or 127 when tollgate itself is missing), so a broken scanner never lets a commit through.
 */
function hookBlock(command: readonly string[]): string {
  return [
    begin,
    '# Added by `tollgate hook install`; remove with `tollgate hook uninstall`.',
    `${command.map(quote).join(' ')} scan --staged || {`,
    '  status=$?',
    '  echo "tollgate: pre-commit scan failed (exit $status); commit blocked." >&2',
    // 126/127: the scanner is gone (an editor update moved it); say how to get it back.
    '  [ "$status" -ge 126 ] && echo "tollgate: the scanner was not found; reinstall the hook (tollgate hook install, or Tollgate: Install Pre-Commit Hook in VS Code)." >&2',
    '  exit 1',
    '}',
    end,
    '',
  ].join('\n');
}

function withoutBlock(content: string): string {
  const start = content.indexOf(begin);
  const stop = content.indexOf(end);
  if (start < 0 || stop < 0) return content;
  return content.slice(0, start) + content.slice(stop + end.length).replace(/^\n/, '');
}

async function readIfPresent(file: string): Promise<string | undefined> {
  return readFile(file, 'utf8').catch(() => undefined);
}

/** Where the pre-commit hook lives: husky's folder, else git's hooks path (core.hooksPath aware). */
export async function locatePreCommitHook(cwd: string): Promise<HookLocation> {
  const topLevel = (await git(cwd, ['rev-parse', '--show-toplevel'])).trim();
  const hooksPath = path.resolve(topLevel, (await git(topLevel, ['rev-parse', '--git-path', 'hooks'])).trim());
  // Husky 9 points core.hooksPath at .husky/_, which it regenerates; user hooks go in .husky/.
  if (path.basename(hooksPath) === '_' && path.basename(path.dirname(hooksPath)) === '.husky') {
    return { file: path.join(path.dirname(hooksPath), 'pre-commit'), husky: true };
  }
  return { file: path.join(hooksPath, 'pre-commit'), husky: false };
}

/**
 * Installs the scan into the pre-commit hook, idempotently. A shell hook (hand-written, husky,
 * the pre-commit framework's) keeps its content and gains the block after its first line; a hook
 * in another language is moved aside and chained after the scan.
 */
export async function installPreCommitHook(cwd: string, command: readonly string[]): Promise<{ outcome: HookInstallOutcome; file: string }> {
  const { file, husky } = await locatePreCommitHook(cwd);
  await mkdir(path.dirname(file), { recursive: true });
  const block = hookBlock(command);
  const existing = await readIfPresent(file);
  let outcome: HookInstallOutcome;
  let content: string;
  if (existing === undefined) {
    content = `#!/bin/sh\n${block}`;
    outcome = 'created';
  } else if (existing.includes(begin)) {
    const start = existing.indexOf(begin);
    content = existing.slice(0, start) + block + withoutBlock(existing).slice(start);
    outcome = 'updated';
  } else if (shellShebang.test(existing) || (husky && !existing.startsWith('#!'))) {
    const firstLineEnd = existing.startsWith('#!') ? existing.indexOf('\n') + 1 || existing.length : 0;
    const head = existing.slice(0, firstLineEnd);
    content = `${head}${head && !head.endsWith('\n') ? '\n' : ''}${block}${existing.slice(firstLineEnd)}`;
    outcome = 'added';
  } else {
    await rename(file, file + chainedSuffix);
    const chained = `"$(dirname "$0")/${path.basename(file)}${chainedSuffix}"`;
    content = `#!/bin/sh\n${block}exec ${chained} "$@"\n`;
    outcome = 'chained';
  }
  await writeFile(file, content);
  if (!husky || outcome === 'created') await chmod(file, 0o755);
  return { outcome, file };
}

/**
 * Reinstalls the scan when the hook holds it with another command than `command`: an editor
 * update moves the extension's folder, and the hook must follow it. A hook without the scan is
 * left alone (installing is the developer's choice). Returns whether it rewrote the hook.
 */
export async function refreshPreCommitHook(cwd: string, command: readonly string[]): Promise<boolean> {
  let file: string;
  try {
    ({ file } = await locatePreCommitHook(cwd));
  } catch {
    return false; // not a repository
  }
  const existing = await readIfPresent(file);
  if (existing === undefined || !existing.includes(begin) || existing.includes(hookBlock(command))) return false;
  await installPreCommitHook(cwd, command);
  return true;
}

/** Removes what `install` added and nothing else; a chained hook gets its place back. */
export async function uninstallPreCommitHook(cwd: string): Promise<{ outcome: HookUninstallOutcome; file: string }> {
  const { file } = await locatePreCommitHook(cwd);
  const existing = await readIfPresent(file);
  if (existing === undefined || !existing.includes(begin)) return { outcome: 'absent', file };
  const chained = await readIfPresent(file + chainedSuffix);
  if (chained !== undefined) {
    await rm(file);
    await rename(file + chainedSuffix, file);
    return { outcome: 'restored', file };
  }
  const rest = withoutBlock(existing);
  if (/^(?:#![^\n]*\n?)?\s*$/.test(rest)) {
    await rm(file);
    return { outcome: 'deleted', file };
  }
  await writeFile(file, rest);
  return { outcome: 'removed', file };
}
