import type { AuditRecord } from './records';
import { readHead } from './head';
import type { RecordRange } from './reader';
import { readRecords } from './reader';
import { ledgerPaths } from './segments';
import type { KeyObject } from 'node:crypto';

/*
 * Export in the contract's two forms, streamed: records are read, formatted and written in
 * ~64 KiB chunks, waiting for the output to drain, so a million records export in bounded memory.
 */

export type ExportFormat = 'jsonl' | 'csv';

/**
 * CSV columns: every field of every kind, nested objects flattened with dots. Arrays (roles,
 * classification, limits, errors) are one cell holding JSON. A field a kind lacks is empty.
 * Auditors and finance read these names: append, never rename.
 */
export const CSV_COLUMNS = [
  'id', 'seq', 'time', 'kind',
  'outcome', 'shadow', 'status',
  'identity.user', 'identity.agent', 'identity.session', 'identity.roles',
  'classification', 'provider', 'route', 'model', 'model_served', 'trace', 'rule', 'reason',
  'exception.id', 'exception.reason',
  'reserved.input_tokens', 'reserved.output_tokens', 'reserved.usd',
  'limits', 'policy.name', 'policy.hash',
  'decision', 'usage.input_tokens', 'usage.output_tokens', 'usd', 'aborted',
  'event', 'source', 'errors',
  'key', 'threshold', 'used', 'limit', 'unit', 'period_start',
  'pruned.before', 'pruned.last_seq', 'pruned.last_hash', 'pruned.last_time', 'pruned.count',
  'prev', 'hash', 'sig',
] as const;

function field(record: AuditRecord, column: string): unknown {
  let value: unknown = record;
  for (const part of column.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvHeader(): string {
  return `${CSV_COLUMNS.join(',')}\r\n`;
}

export function csvRow(record: AuditRecord): string {
  return `${CSV_COLUMNS.map((c) => csvCell(field(record, c))).join(',')}\r\n`;
}

function write(out: NodeJS.WritableStream, chunk: string): Promise<void> {
  if (out.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      out.off('error', onError);
      resolve();
    };
    const onError = (err: Error): void => {
      out.off('drain', onDrain);
      reject(err);
    };
    out.once('drain', onDrain);
    out.once('error', onError);
  });
}

/** Streams records (from a ledger's records() or straight from a data dir) to `out`; returns the count. */
export async function exportRecords(records: AsyncIterable<AuditRecord>, format: ExportFormat, out: NodeJS.WritableStream): Promise<number> {
  let buffer = format === 'csv' ? csvHeader() : '';
  let count = 0;
  for await (const r of records) {
    buffer += format === 'csv' ? csvRow(r) : `${JSON.stringify(r)}\n`;
    count++;
    if (buffer.length >= 64 * 1024) {
      await write(out, buffer);
      buffer = '';
    }
  }
  if (buffer) await write(out, buffer);
  return count;
}

/**
 * The records of a data dir another process may be writing, up to the signed head (what was
 * acknowledged). Without a key the head's signature is not checked here: export only needs to
 * know where the acknowledged records end; `audit verify` is the check.
 */
export function dataDirRecords(dataDir: string, range: RecordRange, publicKey: KeyObject | null): AsyncIterable<AuditRecord> {
  const paths = ledgerPaths(dataDir);
  const { head } = readHead(paths.head, publicKey);
  return readRecords(paths.journal, range, head ? head.seq : Number.MAX_SAFE_INTEGER);
}
