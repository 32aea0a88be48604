import { readFileSync } from 'node:fs';
import type { Finding } from './finding';
import type { SkipReason } from './content';
import { skipReasonFor } from './content';
import { scanText } from './scanner';

/** One file to scan: read from disk, or bytes already in hand (a staged blob). */
export interface ScanItem {
  readonly path: string;
  readonly absolutePath?: string;
  readonly bytes?: Uint8Array;
  /** Decided before reading (e.g. too large); passed through without scanning. */
  readonly skipped?: SkipReason;
  readonly size?: number;
}

export interface FileResult {
  readonly path: string;
  readonly bytes: number;
  readonly findings: readonly Finding[];
  readonly skipped?: SkipReason;
  /** Why the file could not be read; the scan then fails rather than passing silently. */
  readonly error?: string;
}

export function scanItem(item: ScanItem, maxBytes: number): FileResult {
  if (item.skipped) return { path: item.path, bytes: 0, findings: [], skipped: item.skipped };
  let bytes: Uint8Array;
  try {
    bytes = item.bytes ?? readFileSync(item.absolutePath ?? item.path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A file deleted between the walk and the read is simply gone, not a failure.
    if (code === 'ENOENT') return { path: item.path, bytes: 0, findings: [] };
    return { path: item.path, bytes: 0, findings: [], error: `cannot read ${item.path}: ${code ?? 'error'}` };
  }
  const decided = skipReasonFor(item.path, bytes, maxBytes);
  if (typeof decided === 'string') return { path: item.path, bytes: 0, findings: [], skipped: decided };
  return { path: item.path, bytes: bytes.length, findings: scanText(decided.text, { path: item.path }) };
}
