import type { AuditRecord, DecisionRecord } from '../../contracts/audit-records';
import { readHead } from './head';
import type { RecordRange } from './reader';
import { readRecords } from './reader';
import { ledgerPaths } from './segments';
import type { KeyObject } from 'node:crypto';

/*
 * Export in the contract's two forms, streamed: records are read, formatted and written in
 * ~64 KiB chunks, waiting for the output to drain, so a million records export in bounded memory.
 */

export type ExportFormat = 'jsonl' | 'csv' | 'traffic';

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
  'window.from', 'window.to', 'counts',
  'usage.cache_read_input_tokens', 'usage.cache_write_input_tokens', 'usage.reasoning_output_tokens',
  'revocation', 'target', 'value', 'user', 'revoked_at',
  'tool', 'arguments_sha256', 'arguments', 'duration_ms', 'is_error',
  'server', 'sha256', 'previous_sha256', 'by',
  'tools_stripped', 'tool_calls', 'tool_names',
  'approval.outcome', 'approval.by', 'approval.via',
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

/** One line of a traffic file (docs/traffic.md), as `tollgate simulate` reads it. */
export interface TrafficRecordLine {
  time: string;
  user: string;
  agent: string;
  roles: string[];
  provider: string;
  route: string;
  model: string;
  input_tokens: number;
  max_tokens?: number;
  output_tokens?: number;
  /** Of the input, cache reads and cache writes, when the settle reports them: they are priced apart. */
  cache_read_input_tokens?: number;
  cache_write_input_tokens?: number;
  trace?: string;
  classification?: string[];
}

interface PendingLine {
  readonly id: string;
  readonly line: TrafficRecordLine;
  readonly time: number;
  settled: boolean;
}

/** How long (record time) a decision waits for its settle before it is written at its reserved worst case. */
const SETTLE_HORIZON_MS = 3_600_000;
/** And how many decisions may wait at once, so a ledger of crashed calls cannot grow memory. */
const MAX_PENDING = 100_000;

function trafficLineOf(d: DecisionRecord): TrafficRecordLine {
  const line: TrafficRecordLine = {
    time: d.time, user: d.identity.user, agent: d.identity.agent, roles: d.identity.roles, provider: d.provider, route: d.route, model: d.model,
    input_tokens: d.reserved.input_tokens,
  };
  // A refused decision held nothing, so its reservation says nothing about the output it wanted;
  // without max_tokens the replay holds the policy's reserve, as the proxy did.
  if (d.outcome !== 'refuse' && d.reserved.output_tokens > 0) line.max_tokens = d.reserved.output_tokens;
  if (d.trace) line.trace = d.trace;
  if (d.classification.length > 0) line.classification = d.classification;
  return line;
}

/**
 * Turns recorded decisions and their settles into traffic lines, in decision order: the real
 * usage when the settle says it, else the reserved worst case (as a decision without a settle
 * counts). Streams: a decision waits only until its settle arrives or the horizon passes.
 */
export async function* trafficLines(records: AsyncIterable<AuditRecord>): AsyncGenerator<TrafficRecordLine> {
  const queue: PendingLine[] = [];
  let head = 0;
  const byId = new Map<string, PendingLine>();
  for await (const r of records) {
    const now = Date.parse(r.time);
    if (r.kind === 'decision') {
      if (!r.identity.user || !r.model) continue;
      const p: PendingLine = { id: r.id, line: trafficLineOf(r), time: now, settled: r.outcome === 'refuse' && !r.shadow };
      queue.push(p);
      if (!p.settled) byId.set(r.id, p);
    } else if (r.kind === 'settle') {
      const p = byId.get(r.decision);
      if (p) {
        if (r.usage.input_tokens !== null) p.line.input_tokens = r.usage.input_tokens;
        if (r.usage.output_tokens !== null) p.line.output_tokens = r.usage.output_tokens;
        if (r.usage.cache_read_input_tokens !== undefined) p.line.cache_read_input_tokens = r.usage.cache_read_input_tokens;
        if (r.usage.cache_write_input_tokens !== undefined) p.line.cache_write_input_tokens = r.usage.cache_write_input_tokens;
        p.settled = true;
      }
    }
    while (head < queue.length && (queue[head]!.settled || now - queue[head]!.time > SETTLE_HORIZON_MS || queue.length - head > MAX_PENDING)) {
      const p = queue[head++]!;
      // A settle arriving after the horizon is ignored: the line has been written.
      byId.delete(p.id);
      if (!p.settled && p.line.max_tokens !== undefined) p.line.output_tokens = p.line.max_tokens;
      p.settled = true;
      yield p.line;
    }
    if (head > 4096 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
  }
  for (; head < queue.length; head++) {
    const p = queue[head]!;
    if (!p.settled && p.line.max_tokens !== undefined) p.line.output_tokens = p.line.max_tokens;
    yield p.line;
  }
}

/** Streams records (from a ledger's records() or straight from a data dir) to `out`; returns the count. */
export async function exportRecords(records: AsyncIterable<AuditRecord>, format: ExportFormat, out: NodeJS.WritableStream): Promise<number> {
  if (format === 'traffic') return writeLines(trafficLines(records), (l) => `${JSON.stringify(l)}\n`, '', out);
  return writeLines(records, format === 'csv' ? csvRow : (r) => `${JSON.stringify(r)}\n`, format === 'csv' ? csvHeader() : '', out);
}

/** Writes one line per item in 64 KiB writes, so a million records export in bounded memory. */
async function writeLines<T>(items: AsyncIterable<T>, line: (item: T) => string, header: string, out: NodeJS.WritableStream): Promise<number> {
  let buffer = header;
  let count = 0;
  for await (const item of items) {
    buffer += line(item);
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
 * Several ledgers (one per proxy in team mode) as one stream ordered by time, then id (ULIDs sort
 * by time, so ties between proxies break the same way every run). Each input is already in its
 * chain's order; only the heads are held, so memory stays bounded whatever the ledgers' sizes.
 * Each record keeps its own ledger's `seq` and `prev`: verify each data dir, then read them merged.
 */
export async function* mergeByTime(sources: readonly AsyncIterable<AuditRecord>[]): AsyncGenerator<AuditRecord> {
  if (sources.length === 1) {
    yield* sources[0]!;
    return;
  }
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  const heads: ({ record: AuditRecord; at: number } | undefined)[] = await Promise.all(
    iterators.map(async (it) => {
      const n = await it.next();
      return n.done ? undefined : { record: n.value, at: Date.parse(n.value.time) };
    }),
  );
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      if (!h) continue;
      const b = best >= 0 ? heads[best]! : undefined;
      if (!b || h.at < b.at || (h.at === b.at && h.record.id < b.record.id)) best = i;
    }
    if (best < 0) return;
    yield heads[best]!.record;
    const n = await iterators[best]!.next();
    heads[best] = n.done ? undefined : { record: n.value, at: Date.parse(n.value.time) };
  }
}

/**
 * The records of a data dir another process may be writing, up to the signed head and the signed
 * commits after it that the head has not caught up with yet (what was acknowledged, journal.ts).
 * Without a key no signature is checked here: export only needs to know where the acknowledged
 * records end; `audit verify` is the check. Records with `sig: null` are exported with it: a
 * later signed record covers them (docs/product.md, "Signatures").
 */
export function dataDirRecords(dataDir: string, range: RecordRange, publicKey: KeyObject | null): AsyncIterable<AuditRecord> {
  const paths = ledgerPaths(dataDir);
  const { head } = readHead(paths.head, publicKey);
  if (!head) return readRecords(paths.journal, range, Number.MAX_SAFE_INTEGER);
  return readRecords(paths.journal, range, head.seq, { publicKey, ledger: head.ledger });
}
