import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AuditRecord } from '../../contracts/audit-records';

/*
 * Where the ledger lives inside the data dir:
 *   ledger/journal/seg-<first seq, 12 digits>.jsonl   append-only segments, one record per line
 *   ledger/head                                        the signed head (see head.ts)
 *   ledger/index.sqlite                                sql.js query index snapshot (rebuildable)
 *   ledger/lock                                        the one-process lock
 * A segment's name is a lower bound of the seqs inside it (prune may remove its first lines),
 * which is all seeking needs.
 */
export interface LedgerPaths {
  root: string;
  journal: string;
  head: string;
  index: string;
  lock: string;
}

export function ledgerPaths(dataDir: string): LedgerPaths {
  const root = path.join(dataDir, 'ledger');
  return {
    root,
    journal: path.join(root, 'journal'),
    head: path.join(root, 'head'),
    index: path.join(root, 'index.sqlite'),
    lock: path.join(root, 'lock'),
  };
}

export interface Segment {
  file: string;
  firstSeq: number;
}

export function segmentName(firstSeq: number): string {
  return `seg-${String(firstSeq).padStart(12, '0')}.jsonl`;
}

export function listSegments(journalDir: string): Segment[] {
  let names: string[];
  try {
    names = fs.readdirSync(journalDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .map((name) => /^seg-(\d{12})\.jsonl$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ file: path.join(journalDir, m[0]), firstSeq: Number(m[1]) }))
    .sort((a, b) => a.firstSeq - b.firstSeq);
}

export interface RawLine {
  /** Byte offset of the line's first byte and one past its newline. */
  offset: number;
  end: number;
  text: string;
  /** False for trailing bytes with no newline: a write cut short. */
  complete: boolean;
}

const CHUNK = 1 << 20;

/** Streams the lines of one segment from a byte offset, in bounded memory. */
export async function* readLines(file: string, startOffset = 0): AsyncGenerator<RawLine> {
  const fh = await fs.promises.open(file, 'r');
  try {
    let position = startOffset;
    let carry: Buffer = Buffer.alloc(0);
    let carryOffset = startOffset;
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      const data = carry.length ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
      let start = 0;
      for (let nl = data.indexOf(10, start); nl !== -1; nl = data.indexOf(10, start)) {
        yield { offset: carryOffset + start, end: carryOffset + nl + 1, text: data.toString('utf8', start, nl), complete: true };
        start = nl + 1;
      }
      carry = Buffer.from(data.subarray(start)); // copy: buf is reused by the next read
      carryOffset += start;
    }
    if (carry.length) yield { offset: carryOffset, end: carryOffset + carry.length, text: carry.toString('utf8'), complete: false };
  } finally {
    await fh.close();
  }
}

export interface ParsedLine extends RawLine {
  segment: Segment;
  /** The record, or null when the line is not a JSON object (`problem` says why). */
  record: AuditRecord | null;
  problem: string | null;
}

export function parseLine(raw: RawLine, segment: Segment): ParsedLine {
  if (!raw.complete) return { ...raw, segment, record: null, problem: 'incomplete line (no newline): a write cut short' };
  try {
    const value: unknown = JSON.parse(raw.text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { ...raw, segment, record: null, problem: 'line is not a JSON object' };
    }
    const r = value as Partial<AuditRecord>;
    if (typeof r.seq !== 'number' || typeof r.hash !== 'string' || typeof r.prev !== 'string' || typeof r.time !== 'string') {
      return { ...raw, segment, record: null, problem: 'line lacks seq, time, prev or hash' };
    }
    return { ...raw, segment, record: value as AuditRecord, problem: null };
  } catch (err) {
    return { ...raw, segment, record: null, problem: `not valid JSON: ${(err as Error).message}` };
  }
}

/** Where to start reading: a segment and byte offset known to begin a line (from the index). */
export interface JournalPosition {
  segment: number; // the segment's firstSeq (its name)
  offset: number;
}

/**
 * Every line of the journal, oldest first, parsed but not judged: verify and export both read
 * through this, so verify checks exactly the data export serves.
 */
export async function* scanJournal(journalDir: string, from?: JournalPosition | { seq: number }): AsyncGenerator<ParsedLine> {
  const segments = listSegments(journalDir);
  let startIndex = 0;
  if (from && 'seq' in from) {
    // The last segment whose name is <= seq holds it (names are lower bounds).
    for (let i = 0; i < segments.length; i++) if (segments[i].firstSeq <= from.seq) startIndex = i;
  } else if (from) {
    startIndex = Math.max(0, segments.findIndex((s) => s.firstSeq === from.segment));
  }
  for (let i = startIndex; i < segments.length; i++) {
    const seg = segments[i];
    const offset = from && !('seq' in from) && seg.firstSeq === from.segment ? from.offset : 0;
    for await (const raw of readLines(seg.file, offset)) yield parseLine(raw, seg);
  }
}

/** The first record of a segment (to skip whole segments when seeking by time). */
export async function firstRecord(segment: Segment): Promise<AuditRecord | null> {
  for await (const raw of readLines(segment.file)) return parseLine(raw, segment).record;
  return null;
}
