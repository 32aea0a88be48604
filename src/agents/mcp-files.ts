import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { McpConfigError } from './mcp-config-error';
import { rewriteCodexMcpConfig } from './mcp-codex';
import type { McpClient, McpRewrite, McpRewriteOptions } from './mcp-routing';
import { MCP_CLIENTS, rewriteJsonMcpConfig } from './mcp-routing';

// The agents' MCP configuration files on disk. A workspace file is read only when it resolves inside
// the workspace, is a regular file and is of a settings file's size. Before a file is rewritten, its
// bytes are kept in an undo record in the data dir (private, like the session key), so `tollgate
// agents remove` gives them back byte for byte, and only when the file is still what setup wrote.

/** Larger than any agent's settings file; a bigger one is refused, not read. */
export const MAX_MCP_CONFIG_BYTES = 1024 * 1024;

export interface McpConfigLocation {
  readonly client: McpClient;
  readonly file: string;
  /** The folder the file must resolve inside (the workspace); absent for a file in the person's home. */
  readonly within?: string;
}

/** Where each client keeps the MCP servers the setup routes: the workspace's files, and Codex's config.toml. */
export function mcpConfigLocations(workspace: string, codexHome: string): Readonly<Record<McpClient, McpConfigLocation>> {
  const ws = path.resolve(workspace);
  return {
    'claude-code': { client: 'claude-code', file: path.join(ws, '.mcp.json'), within: ws },
    vscode: { client: 'vscode', file: path.join(ws, '.vscode', 'mcp.json'), within: ws },
    codex: { client: 'codex', file: path.join(codexHome, 'config.toml') },
    'gemini-cli': { client: 'gemini-cli', file: path.join(ws, '.gemini', 'settings.json'), within: ws },
  };
}

interface FileOnDisk {
  /** Where the bytes are: the file, or what its symbolic link resolves to. */
  readonly target: string;
  readonly bytes: Buffer;
  readonly mode: number;
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR';
}

/** The file's bytes, or undefined when there is none; refuses what the setup must not read or write. */
export function readMcpConfig(loc: McpConfigLocation): FileOnDisk | undefined {
  let target: string;
  try {
    target = fs.realpathSync(loc.file);
  } catch (err) {
    if (isMissing(err)) {
      try {
        fs.lstatSync(loc.file);
      } catch {
        return undefined;
      }
      throw new McpConfigError('unsafe-path', 'is a symbolic link to nothing; it was left as it is');
    }
    throw err;
  }
  if (loc.within !== undefined) {
    const root = fs.realpathSync(loc.within);
    const rel = path.relative(root, target);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) throw new McpConfigError('unsafe-path', `resolves to ${target}, outside the workspace ${root}; it was left as it is`);
  }
  const stat = fs.statSync(target);
  if (!stat.isFile()) throw new McpConfigError('unsafe-path', 'is not a regular file; it was left as it is');
  if (stat.size > MAX_MCP_CONFIG_BYTES) throw new McpConfigError('too-large', `is ${stat.size} bytes, more than the ${MAX_MCP_CONFIG_BYTES} a settings file needs; it was left as it is`);
  const fd = fs.openSync(target, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  try {
    // Read one byte past the limit, so a file that grew after the stat is still refused.
    const buf = Buffer.alloc(MAX_MCP_CONFIG_BYTES + 1);
    let n = 0;
    for (;;) {
      const got = fs.readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n > MAX_MCP_CONFIG_BYTES) throw new McpConfigError('too-large', `is more than the ${MAX_MCP_CONFIG_BYTES} bytes a settings file needs; it was left as it is`);
    }
    return { target, bytes: Buffer.from(buf.subarray(0, n)), mode: stat.mode & 0o777 };
  } finally {
    fs.closeSync(fd);
  }
}

/** Replaces the file at once (a temporary file beside it, renamed over it), keeping its mode. */
export function writeFileAtomically(target: string, bytes: Buffer | string, mode: number): void {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.tollgate-${process.pid}-${crypto.randomBytes(6).toString('hex')}.tmp`);
  try {
    // 'wx' never follows or reuses a file someone put at the temporary name.
    fs.writeFileSync(tmp, bytes, { mode, flag: 'wx' });
    fs.chmodSync(tmp, mode);
    fs.renameSync(tmp, target);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function sha256(bytes: Buffer | string): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/** What setup kept of one file: its bytes before, and what it wrote. */
interface UndoRecord {
  readonly version: 1;
  readonly client: McpClient;
  readonly file: string;
  /** The file's bytes before the setup, base64. */
  readonly original: string;
  /** The bytes the setup wrote, base64: what `remove` expects to find. */
  readonly written: string;
}

/** The folder of undo records in the data dir. */
export function undoRecordDir(dataDir: string): string {
  return path.join(dataDir, 'agents-mcp');
}

function recordPath(dataDir: string, target: string): string {
  return path.join(undoRecordDir(dataDir), `${sha256(target).slice(0, 32)}.json`);
}

function isUndoRecord(v: unknown): v is UndoRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return r.version === 1 && typeof r.file === 'string' && typeof r.original === 'string' && typeof r.written === 'string' && (MCP_CLIENTS as readonly unknown[]).includes(r.client);
}

function readRecord(dataDir: string, target: string): UndoRecord | undefined {
  let text: string;
  try {
    text = fs.readFileSync(recordPath(dataDir, target), 'utf8');
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!isUndoRecord(parsed) || parsed.file !== target) throw new McpConfigError('unreadable', `its undo record ${recordPath(dataDir, target)} is damaged; remove that record to start afresh`);
  return parsed;
}

function writeRecord(dataDir: string, record: UndoRecord): void {
  fs.mkdirSync(undoRecordDir(dataDir), { recursive: true, mode: 0o700 });
  writeFileAtomically(recordPath(dataDir, record.file), `${JSON.stringify(record, null, 2)}\n`, 0o600);
}

/** The text of a file, refusing bytes that are not UTF-8 (rewriting them would change other bytes too). */
function textOf(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) throw new McpConfigError('unreadable', 'is not UTF-8 text; it was left as it is');
  return text;
}

export function rewriteMcpConfig(client: McpClient, text: string, o: McpRewriteOptions): McpRewrite {
  return client === 'codex' ? rewriteCodexMcpConfig(text, o) : rewriteJsonMcpConfig(client, text, o);
}

export interface McpFilePlan {
  readonly client: McpClient;
  readonly file: string;
  readonly exists: boolean;
  /** What the rewrite changes; absent when the file is missing. */
  readonly rewrite?: McpRewrite;
  /** True when the file's bytes on disk change. */
  readonly writes: boolean;
  /** The new file's text (when `writes`). */
  readonly text?: string;
  /** What was on disk when the plan was made. */
  readonly seen?: FileOnDisk;
  /** The bytes an undo gives back: the file before the first setup. */
  readonly original?: Buffer;
}

export interface McpPlanOptions extends McpRewriteOptions {
  readonly dataDir: string;
  /**
   * Edits of the setup's own made to the same file before its servers are rewritten (Codex's
   * config.toml gets its model provider): undone with them.
   */
  readonly prepare?: (client: McpClient, text: string) => string;
}

/** Error on one file, said with its name. */
export class McpFileError extends McpConfigError {
  constructor(
    readonly file: string,
    cause: McpConfigError,
  ) {
    super(cause.reason, `${file} ${cause.message}`);
    this.name = 'McpFileError';
  }
}

function withFile<T>(file: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (McpConfigError.is(err) && !(err instanceof McpFileError)) throw new McpFileError(file, err);
    throw err;
  }
}

/** The plan for one file: what the rewrite changes, from the file as it was before any setup. */
export function planMcpFile(loc: McpConfigLocation, o: McpPlanOptions): McpFilePlan {
  return withFile(loc.file, () => {
    const seen = readMcpConfig(loc);
    if (!seen) return { client: loc.client, file: loc.file, exists: false, writes: false };
    const current = textOf(seen.bytes);
    const record = readRecord(o.dataDir, seen.target);
    const prepare = (t: string): string => (o.prepare ? o.prepare(loc.client, t) : t);
    if (record && Buffer.from(record.written, 'base64').equals(seen.bytes)) {
      // Set up before: plan again from the original, so an undo still gives back the file before the first setup.
      const original = Buffer.from(record.original, 'base64');
      const rewrite = rewriteMcpConfig(loc.client, prepare(textOf(original)), o);
      if (rewrite.changes.length === 0 || rewrite.text === current) {
        const again = rewriteMcpConfig(loc.client, current, o);
        return { client: loc.client, file: loc.file, exists: true, rewrite: again, writes: false, seen, original };
      }
      return { client: loc.client, file: loc.file, exists: true, rewrite, writes: true, text: rewrite.text, seen, original };
    }
    const rewrite = rewriteMcpConfig(loc.client, prepare(current), o);
    if (rewrite.changes.length === 0) return { client: loc.client, file: loc.file, exists: true, rewrite, writes: false, seen };
    if (record) {
      throw new McpConfigError('changed', `changed since \`tollgate agents setup\` rewrote it (${whatChanged(loc.client, Buffer.from(record.written, 'base64'), seen.bytes)}), so its earlier state cannot be kept for an undo; make the change by hand, or run \`tollgate agents remove\` after putting back what setup wrote`);
    }
    return { client: loc.client, file: loc.file, exists: true, rewrite, writes: true, text: rewrite.text, seen, original: seen.bytes };
  });
}

/** Writes a plan: the undo record first (so no rewritten file is ever without one), then the file. */
export function applyMcpPlan(plan: McpFilePlan, dataDir: string, loc: McpConfigLocation): void {
  if (!plan.writes || plan.text === undefined || !plan.seen || !plan.original) return;
  withFile(plan.file, () => {
    const now = readMcpConfig(loc);
    if (!now || now.target !== plan.seen!.target || !now.bytes.equals(plan.seen!.bytes)) throw new McpConfigError('changed', 'changed while the plan was shown; nothing was written to it: run setup again');
    const written = Buffer.from(plan.text!, 'utf8');
    writeRecord(dataDir, { version: 1, client: plan.client, file: now.target, original: plan.original!.toString('base64'), written: written.toString('base64') });
    writeFileAtomically(now.target, written, now.mode);
  });
}

export type McpUndoOutcome = 'restored' | 'not-set-up' | 'changed';

export interface McpUndoResult {
  readonly client: McpClient;
  readonly file: string;
  readonly outcome: McpUndoOutcome;
  /** For `changed`: what differs from what setup wrote. */
  readonly detail?: string;
}

/** Where a missing file would be: its folder resolved as a present file's target is. */
function missingTarget(file: string): string {
  try {
    return path.join(fs.realpathSync(path.dirname(file)), path.basename(file));
  } catch {
    return path.resolve(file);
  }
}

/** The server names a file lists, or undefined when it cannot be read. */
function serverNames(client: McpClient, bytes: Buffer): string[] | undefined {
  try {
    return [...rewriteMcpConfig(client, textOf(bytes), { governed: new Set(), proxyUrl: 'http://127.0.0.1' }).notGoverned];
  } catch {
    return undefined;
  }
}

/** What differs between what setup wrote and what the file holds now, in a few words. */
export function whatChanged(client: McpClient, written: Buffer, now: Buffer | undefined): string {
  if (!now) return 'it was deleted';
  const before = serverNames(client, written);
  const after = serverNames(client, now);
  if (after === undefined) return `it is no longer ${client === 'codex' ? 'TOML' : 'JSON'} this can follow`;
  const added = after.filter((n) => !before?.includes(n));
  const removed = (before ?? []).filter((n) => !after.includes(n));
  const parts: string[] = [];
  if (added.length > 0) parts.push(`servers added: ${added.map((n) => JSON.stringify(n)).join(', ')}`);
  if (removed.length > 0) parts.push(`servers removed: ${removed.map((n) => JSON.stringify(n)).join(', ')}`);
  if (parts.length === 0) parts.push(`the same servers, ${Math.abs(now.length - written.length)} bytes longer or shorter, other content edited`);
  return parts.join('; ');
}

/**
 * Gives each file back the bytes it had before setup, when it still holds what setup wrote; a file
 * changed since is left alone (and its record kept) with what changed.
 */
export function undoMcpFile(loc: McpConfigLocation, dataDir: string): McpUndoResult {
  return withFile(loc.file, () => {
    const seen = readMcpConfig(loc);
    const target = seen?.target ?? missingTarget(loc.file);
    const record = readRecord(dataDir, target);
    if (!record) return { client: loc.client, file: loc.file, outcome: 'not-set-up' };
    const written = Buffer.from(record.written, 'base64');
    if (!seen || !seen.bytes.equals(written)) return { client: loc.client, file: loc.file, outcome: 'changed', detail: whatChanged(loc.client, written, seen?.bytes) };
    writeFileAtomically(seen.target, Buffer.from(record.original, 'base64'), seen.mode);
    fs.rmSync(recordPath(dataDir, seen.target), { force: true });
    return { client: loc.client, file: loc.file, outcome: 'restored' };
  });
}
