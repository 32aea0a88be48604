import { opendir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import ignore from 'ignore';
import type { Ignore } from 'ignore';
import type { TollgateIgnore } from './tollgateignore';
import { ScanError } from './errors';

export interface WalkedFile {
  /** Relative to the scan root, with forward slashes (../ for a file outside it). */
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

/** Whether `relative` (from path.relative) climbs out of the directory it was taken from. */
function climbsOut(relative: string): boolean {
  return relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative);
}

/**
 * Streams the files under the targets, depth first, skipping `.git`, gitignored and
 * `.tollgateignore`d paths. Memory stays bounded by the directory depth, not the file count.
 * A folder outside the root is walked from its own repository (or from itself outside one), with
 * that tree's .gitignore files; `.tollgateignore` is the root's and applies under the root only.
 * Symbolic links met while walking are not followed, so a walk never leaves the folder it was given.
 */
export async function* walkFiles(root: string, targets: readonly string[], tollgateIgnore: TollgateIgnore): AsyncGenerator<WalkedFile> {
  const layersByBase = new Map<string, GitignoreLayers>();
  for (const target of targets) {
    const absolute = path.resolve(root, target);
    const info = await stat(absolute).catch(() => undefined);
    if (!info) throw new ScanError('path-not-found', `no such file or directory: ${target}`);
    // Paths are reported from the root, so a file outside it reads ../other/file (absolute on another drive).
    const shown = (file: string): string => toPosix(path.relative(root, file));
    if (info.isFile()) {
      const relative = shown(absolute);
      yield { path: relative === '' ? path.basename(absolute) : relative, absolutePath: absolute, size: info.size };
      continue;
    }
    const inside = !climbsOut(path.relative(root, absolute));
    const base = inside ? root : ((await findRepositoryRoot(absolute)) ?? absolute);
    const gitignores = layersByBase.get(base) ?? new GitignoreLayers();
    layersByBase.set(base, gitignores);
    const ignoredByTollgate = (entryRelative: string): boolean => inside && tollgateIgnore.paths.ignores(entryRelative);
    const relative = toPosix(path.relative(base, absolute));
    // Gitignore files of the ancestors between the base and the target apply too.
    const segments = relative === '' ? [] : relative.split('/');
    for (let i = 0; i <= segments.length; i++) await gitignores.load(base, segments.slice(0, i).join('/'));
    const pending = [relative];
    while (pending.length > 0) {
      const dirRelative = pending.pop() as string;
      await gitignores.load(base, dirRelative);
      const dir = await opendir(path.join(base, dirRelative));
      const subdirectories: string[] = [];
      for await (const entry of dir) {
        const entryRelative = dirRelative === '' ? entry.name : `${dirRelative}/${entry.name}`;
        if (entry.isDirectory()) {
          if (entry.name === '.git' || gitignores.ignores(entryRelative, true) || ignoredByTollgate(`${entryRelative}/`)) continue;
          subdirectories.push(entryRelative);
        } else if (entry.isFile()) {
          if (gitignores.ignores(entryRelative, false) || ignoredByTollgate(entryRelative)) continue;
          const absolutePath = path.join(base, entryRelative);
          const size = (await stat(absolutePath).catch(() => undefined))?.size;
          if (size !== undefined) yield { path: inside ? entryRelative : shown(absolutePath), absolutePath, size };
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
