import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { ScanItem } from './file-scan';
import { git } from './git';
import { ScanError } from './errors';

export interface StagedBlob {
  /** Path the file will have in the commit (the new name of a rename). */
  readonly path: string;
  readonly blob: string;
}

const regularFileModes = new Set(['100644', '100755']);

/**
 * The blobs the next commit will contain that differ from HEAD: added, copied, modified and
 * renamed files, as staged in the index (so a partially staged file is read as staged).
 */
export async function listStagedBlobs(topLevel: string, pathspecs: readonly string[] = []): Promise<StagedBlob[]> {
  const raw = await git(topLevel, ['diff', '--cached', '--raw', '-z', '-M', '--no-abbrev', '--diff-filter=ACMR', '--', ...pathspecs]);
  const fields = raw.split('\0');
  const blobs: StagedBlob[] = [];
  for (let i = 0; i < fields.length; ) {
    const header = fields[i++] ?? '';
    if (!header.startsWith(':')) continue;
    const [, newMode, , newBlob, status] = header.slice(1).split(' ');
    const renamedOrCopied = status?.startsWith('R') || status?.startsWith('C');
    if (renamedOrCopied) i++;
    const path = fields[i++] ?? '';
    // Submodules and symlinks hold no file content of their own.
    if (newMode && newBlob && regularFileModes.has(newMode)) blobs.push({ path, blob: newBlob });
  }
  return blobs;
}

// Reads `git cat-file --batch` output: "<oid> blob <size>\n<content>\n" per object.
async function* readBatchObjects(stdout: Readable): AsyncGenerator<{ oid: string; size: number; content: Buffer | undefined }> {
  const chunks: Buffer[] = [];
  let buffered = 0;
  const take = (n: number): Buffer => {
    const all = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, buffered);
    chunks.length = 0;
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    if (rest.length > 0) chunks.push(rest);
    buffered = rest.length;
    return head;
  };
  let header: { oid: string; size: number } | undefined;
  for await (const chunk of stdout as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    buffered += chunk.length;
    for (;;) {
      if (!header) {
        const joined = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, buffered);
        chunks.length = 0;
        chunks.push(joined);
        const newline = joined.indexOf(10);
        if (newline < 0) break;
        const [oid = '', type, size] = take(newline + 1).toString('utf8').trim().split(' ');
        if (type === 'missing' || size === undefined) throw new ScanError('git-failed', `staged object ${oid} is missing`);
        header = { oid, size: Number(size) };
      }
      if (buffered < header.size + 1) break;
      // A copy, so the bytes can move to a worker without dragging the stream's buffers along.
      const content = Uint8Array.prototype.slice.call(take(header.size + 1), 0, header.size) as Buffer;
      yield { oid: header.oid, size: header.size, content };
      header = undefined;
    }
  }
}

/** Streams the staged blobs' bytes from one `git cat-file --batch` process. */
export async function* stagedItems(topLevel: string, blobs: readonly StagedBlob[], maxBytes: number): AsyncGenerator<ScanItem> {
  if (blobs.length === 0) return;
  const child = spawn('git', ['cat-file', '--batch'], { cwd: topLevel, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', (err) => reject(new ScanError('git-failed', `git cat-file failed: ${err.message}`)));
    child.on('close', (code) => resolve(code ?? 1));
  });
  child.stdin.on('error', () => undefined);
  child.stdin.end(blobs.map((b) => b.blob).join('\n') + '\n');
  let index = 0;
  try {
    for await (const object of readBatchObjects(child.stdout)) {
      const blob = blobs[index++];
      if (!blob || blob.blob !== object.oid) throw new ScanError('git-failed', 'git cat-file answered out of order');
      yield object.size > maxBytes
        ? { path: blob.path, skipped: 'too-large', size: object.size }
        : { path: blob.path, bytes: object.content, size: object.size };
    }
  } finally {
    if (index < blobs.length) child.kill();
  }
  const code = await exited;
  if (code !== 0 || index < blobs.length) throw new ScanError('git-failed', `git cat-file failed: ${stderr.trim() || `exit ${code}`}`);
}
