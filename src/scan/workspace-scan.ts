import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { Finding } from './finding';
import type { ScanItem } from './file-scan';
import type { ScanReport } from './report';
import type { SkipReason } from './content';
import type { TollgateIgnore } from './tollgateignore';
import { defaultMaxFileBytes } from './content';
import { emptyTollgateIgnore, parseTollgateIgnore } from './tollgateignore';
import { findRepositoryRoot, walkFiles } from './walk';
import { listStagedBlobs, stagedItems } from './staged';
import { DEFAULT_BASELINE_FILE, fingerprintsOf, parseBaselineFingerprints, readBaseline } from './baseline';
import { git, repositoryTopLevel } from './git';
import { scanItems } from './pool';
import { ScanError } from './errors';

export interface WorkspaceScanOptions {
  readonly cwd: string;
  /** Files and directories to scan, relative to cwd or absolute, inside it or not; default the working directory. */
  readonly targets?: readonly string[];
  /** Scan the index (what the next commit holds) instead of the working tree. */
  readonly staged?: boolean;
  readonly maxFileBytes?: number;
  readonly workers?: number;
  /** Fingerprints already accepted (a baseline); matching findings are counted, not reported. */
  readonly knownFingerprints?: ReadonlySet<string>;
}

async function loadTollgateIgnore(root: string, staged: boolean): Promise<TollgateIgnore> {
  // In a pre-commit scan the staged .tollgateignore is the one the commit will carry.
  const content = staged
    ? await git(root, ['show', ':.tollgateignore']).catch(() => undefined)
    : await readFile(path.join(root, '.tollgateignore'), 'utf8').catch(() => undefined);
  return content === undefined ? emptyTollgateIgnore : parseTollgateIgnore(content);
}

/** The repository's own baseline, if it has one (in a pre-commit scan, the staged one). */
async function loadDefaultBaseline(root: string, staged: boolean): Promise<ReadonlySet<string>> {
  if (!staged) {
    const baseline = await readBaseline(path.join(root, DEFAULT_BASELINE_FILE));
    return baseline ? fingerprintsOf(baseline) : new Set();
  }
  const content = await git(root, ['show', `:${DEFAULT_BASELINE_FILE}`]).catch(() => undefined);
  return content === undefined ? new Set() : parseBaselineFingerprints(content, `${DEFAULT_BASELINE_FILE} (staged)`);
}

async function* walkedItems(root: string, targets: readonly string[], ignore: TollgateIgnore, maxBytes: number): AsyncGenerator<ScanItem> {
  for await (const file of walkFiles(root, targets, ignore)) {
    yield file.size > maxBytes ? { path: file.path, skipped: 'too-large', size: file.size } : { path: file.path, absolutePath: file.absolutePath, size: file.size };
  }
}

/** Scans a working tree or the staged index and accounts for every file it read or skipped. */
export async function scanWorkspace(options: WorkspaceScanOptions): Promise<ScanReport> {
  const maxBytes = options.maxFileBytes ?? defaultMaxFileBytes;
  const staged = options.staged ?? false;
  const root = staged ? await repositoryTopLevel(options.cwd) : ((await findRepositoryRoot(options.cwd)) ?? path.resolve(options.cwd));
  const ignore = await loadTollgateIgnore(root, staged);
  const accepted = await loadDefaultBaseline(root, staged);
  const targets = (options.targets && options.targets.length > 0 ? options.targets : ['.']).map((t) => path.relative(root, path.resolve(options.cwd, t)) || '.');
  let items: AsyncIterable<ScanItem>;
  if (staged) {
    const outside = targets.find((t) => t === '..' || t.startsWith(`..${path.sep}`) || path.isAbsolute(t));
    if (outside !== undefined) throw new ScanError('path-not-found', `--staged scans the index of the repository at ${root}; ${outside} is outside it`);
    const pathspecs = options.targets && options.targets.length > 0 ? targets : [];
    const blobs = (await listStagedBlobs(root, pathspecs)).filter((b) => !ignore.paths.ignores(b.path));
    items = stagedItems(root, blobs, maxBytes);
  } else {
    items = walkedItems(root, targets, ignore, maxBytes);
  }

  const findings: Finding[] = [];
  const skipped: Record<SkipReason, number> = { binary: 0, 'too-large': 0, minified: 0 };
  const errors: string[] = [];
  let filesScanned = 0;
  let bytesScanned = 0;
  let suppressed = 0;
  await scanItems(items, { maxBytes, ...(options.workers !== undefined ? { workers: options.workers } : {}) }, (result) => {
    if (result.error) errors.push(result.error);
    else if (result.skipped) skipped[result.skipped]++;
    else {
      filesScanned++;
      bytesScanned += result.bytes;
    }
    for (const f of result.findings) {
      if (ignore.fingerprints.has(f.fingerprint) || accepted.has(f.fingerprint) || options.knownFingerprints?.has(f.fingerprint)) suppressed++;
      else findings.push(f);
    }
  });
  findings.sort((a, b) => a.path.localeCompare(b.path) || a.line - b.line || a.column - b.column);
  return { findings, filesScanned, bytesScanned, skipped, suppressed, errors, root, staged };
}
