import { opendir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import ignore from 'ignore';
import type { Ignore } from 'ignore';
import type { TollgateIgnore } from './tollgateignore';
import { ScanError } from './errors';

export interface WalkedFile {
  /** Relative to the scan root, with forward slashes. */
  readonly path: string;
  readonly absolutePath: string;
  readonly size: number;
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

async function readIfPresent(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

// Each directory's .gitignore applies to paths beneath it, relative to that directory.
class GitignoreLayers {
  private readonly layers = new Map<string, Ignore>();

  async load(root: string, relativeDir: string): Promise<void> {
    if (this.layers.has(relativeDir)) return;
    const dir = path.join(root, relativeDir);
    const parts = [await readIfPresent(path.join(dir, '.gitignore'))];
    if (relativeDir === '') parts.push(await readIfPresent(path.join(root, '.git', 'info', 'exclude')));
    const content = parts.filter((p) => p !== undefined).join('\n');
    if (content.trim() !== '') this.layers.set(relativeDir, ignore().add(content));
  }

  ignores(relativePath: string, isDirectory: boolean): boolean {
    const target = isDirectory ? `${relativePath}/` : relativePath;
    for (const [dir, rules] of this.layers) {
      if (dir !== '' && !relativePath.startsWith(`${dir}/`)) continue;
      if (rules.ignores(dir === '' ? target : target.slice(dir.length + 1))) return true;
    }
    return false;
  }
}

/**
 * Streams the files under the targets, depth first, skipping `.git`, gitignored and
 * `.tollgateignore`d paths. Memory stays bounded by the directory depth, not the file count.
 */
export async function* walkFiles(root: string, targets: readonly string[], tollgateIgnore: TollgateIgnore): AsyncGenerator<WalkedFile> {
  const gitignores = new GitignoreLayers();
  for (const target of targets) {
    const absolute = path.resolve(root, target);
    const info = await stat(absolute).catch(() => undefined);
    if (!info) throw new ScanError('path-not-found', `no such file or directory: ${target}`);
    const relative = toPosix(path.relative(root, absolute));
    if (info.isFile()) {
      yield { path: relative === '' ? path.basename(absolute) : relative, absolutePath: absolute, size: info.size };
      continue;
    }
    if (relative.startsWith('..')) throw new ScanError('path-not-found', `${target} is outside the scan root`);
    // Gitignore files of the ancestors between the root and the target apply too.
    const segments = relative === '' ? [] : relative.split('/');
    for (let i = 0; i <= segments.length; i++) await gitignores.load(root, segments.slice(0, i).join('/'));
    const pending = [relative];
    while (pending.length > 0) {
      const dirRelative = pending.pop() as string;
      await gitignores.load(root, dirRelative);
      const dir = await opendir(path.join(root, dirRelative));
      const subdirectories: string[] = [];
      for await (const entry of dir) {
        const entryRelative = dirRelative === '' ? entry.name : `${dirRelative}/${entry.name}`;
        if (entry.isDirectory()) {
          if (entry.name === '.git' || gitignores.ignores(entryRelative, true) || tollgateIgnore.paths.ignores(`${entryRelative}/`)) continue;
          subdirectories.push(entryRelative);
        } else if (entry.isFile()) {
          if (gitignores.ignores(entryRelative, false) || tollgateIgnore.paths.ignores(entryRelative)) continue;
          const absolutePath = path.join(root, entryRelative);
          const size = (await stat(absolutePath).catch(() => undefined))?.size;
          if (size !== undefined) yield { path: entryRelative, absolutePath, size };
        }
      }
      pending.push(...subdirectories.reverse());
    }
  }
}

/** The directory holding `.git` above `start`, or undefined outside a repository. */
export async function findRepositoryRoot(start: string): Promise<string | undefined> {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    if (await stat(path.join(dir, '.git')).catch(() => undefined)) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}
