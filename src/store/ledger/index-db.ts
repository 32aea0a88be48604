import * as fs from 'node:fs';
import * as path from 'node:path';
import initSqlJs from 'sql.js';
import type { Database, SqlJsStatic, SqlValue, Statement } from 'sql.js';
import type { AuditRecord, DecisionOutcome } from '../../contracts/audit-records';
import type { DecisionSummary, SpendDimension, SpendRow, TimeRange } from '../../contracts/ledger-queries';
import type { JournalPosition } from './segments';

/*
 * The query side. sql.js keeps the whole database in memory and can only save it by writing all
 * of it (`export()`), so it cannot be the durable form: a per-record save would rewrite the
 * database on every decision. The journal is the truth; this index is rebuilt from it and only
 * snapshotted now and then (and at close) together with the journal position it covers, so a
 * restart loads the snapshot and replays just the tail after that position. A lost or stale
 * snapshot costs a rebuild, never data.
 */

let sqlJs: Promise<SqlJsStatic> | null = null;

/** sql.js's wasm: beside the bundle (dist/sql-wasm.wasm, copied by esbuild.js), else node_modules. */
function locateWasm(file: string): string {
  const beside = path.join(__dirname, file);
  if (fs.existsSync(beside)) return beside;
  return require.resolve(`sql.js/dist/${file}`);
}

export function loadSqlJs(): Promise<SqlJsStatic> {
  sqlJs ??= initSqlJs({ locateFile: locateWasm });
  return sqlJs;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (
  id TEXT PRIMARY KEY, seq INTEGER NOT NULL, time TEXT NOT NULL, day TEXT NOT NULL,
  user TEXT NOT NULL, agent TEXT NOT NULL, model TEXT NOT NULL, model_served TEXT, provider TEXT NOT NULL,
  route TEXT NOT NULL, outcome TEXT NOT NULL, status INTEGER NOT NULL, rule TEXT, shadow INTEGER NOT NULL,
  reserved_usd REAL NOT NULL, reserved_input INTEGER NOT NULL, reserved_output INTEGER NOT NULL,
  settled INTEGER NOT NULL DEFAULT 0, usd REAL, input_tokens INTEGER, output_tokens INTEGER
);
CREATE INDEX IF NOT EXISTS decisions_time ON decisions (time);
CREATE INDEX IF NOT EXISTS decisions_unsettled ON decisions (settled, time);
`;

const SCHEMA_VERSION = '1';

/** What a snapshot covers: the last record indexed and where the journal continues after it. */
export interface IndexCoverage {
  seq: number;
  hash: string;
  next: JournalPosition;
}

// A decision's cost: the settle when there is one; otherwise the reserved worst case, except a
// refusal (not shadowed) that held and spent nothing.
const COST = `CASE WHEN settled = 1 THEN usd WHEN outcome = 'refuse' AND shadow = 0 THEN 0 ELSE reserved_usd END`;
const INPUT = `CASE WHEN settled = 1 THEN COALESCE(input_tokens, reserved_input) WHEN outcome = 'refuse' AND shadow = 0 THEN 0 ELSE reserved_input END`;
const OUTPUT = `CASE WHEN settled = 1 THEN COALESCE(output_tokens, reserved_output) WHEN outcome = 'refuse' AND shadow = 0 THEN 0 ELSE reserved_output END`;
const GROUP: Record<SpendDimension, string> = {
  user: 'user',
  agent: `user || '/' || agent`,
  model: 'COALESCE(model_served, model)',
  day: 'day',
};

/**
 * What the index keeps of a record, as plain values: the thread that seals records hands these to
 * the index's thread, so only the columns cross, not whole records.
 */
export type IndexRow =
  | readonly ['decision', string, number, string, string, string, string, string, string | null, string, string, string, number, string | null, number, number, number, number]
  | readonly ['settle', number, number | null, number | null, string];

/** The index's row for a record; null for kinds it does not keep (checkpoints). */
export function indexRowOf(r: AuditRecord): IndexRow | null {
  if (r.kind === 'decision') {
    return [
      'decision', r.id, r.seq, r.time, r.time.slice(0, 10), r.identity.user, r.identity.agent, r.model, r.model_served, r.provider, r.route,
      r.outcome, r.status, r.rule, r.shadow ? 1 : 0, r.reserved.usd, r.reserved.input_tokens, r.reserved.output_tokens,
    ];
  }
  if (r.kind === 'settle') return ['settle', r.usd, r.usage.input_tokens, r.usage.output_tokens, r.decision];
  return null;
}

export class LedgerIndex {
  private insertDecision: Statement;
  private settleDecision: Statement;

  private constructor(private readonly db: Database) {
    this.insertDecision = this.prepareInsert();
    this.settleDecision = this.prepareSettle();
  }

  /** Opens the snapshot at `file`, or an empty index when it is missing, unreadable or of another schema. */
  static async open(file: string | null): Promise<{ index: LedgerIndex; coverage: IndexCoverage | null }> {
    const SQL = await loadSqlJs();
    if (file && fs.existsSync(file)) {
      try {
        const db = new SQL.Database(fs.readFileSync(file));
        const index = new LedgerIndex(db);
        if (index.meta('schema') === SCHEMA_VERSION) return { index, coverage: index.coverage() };
        index.close();
      } catch {
        // A snapshot that does not load is rebuilt from the journal.
      }
    }
    const db = new SQL.Database();
    db.run(SCHEMA);
    const index = new LedgerIndex(db);
    index.setMeta('schema', SCHEMA_VERSION);
    return { index, coverage: null };
  }

  private prepareInsert(): Statement {
    this.db.run(SCHEMA);
    return this.db.prepare(
      `INSERT OR REPLACE INTO decisions (id, seq, time, day, user, agent, model, model_served, provider, route, outcome, status, rule, shadow,
        reserved_usd, reserved_input, reserved_output) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
    );
  }

  private prepareSettle(): Statement {
    return this.db.prepare(`UPDATE decisions SET settled = 1, usd = ?, input_tokens = ?, output_tokens = ? WHERE id = ?`);
  }

  private meta(key: string): string | null {
    const rows = this.db.exec('SELECT value FROM meta WHERE key = ?', [key]);
    return rows.length ? String(rows[0].values[0][0]) : null;
  }

  private setMeta(key: string, value: string): void {
    this.db.run('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)', [key, value]);
  }

  private coverage(): IndexCoverage | null {
    const raw = this.meta('coverage');
    return raw ? (JSON.parse(raw) as IndexCoverage) : null;
  }

  /** Adds durable records' rows, in one transaction, and notes how far the index now covers. */
  addBatch(rows: readonly IndexRow[], coverage: IndexCoverage): void {
    this.db.run('BEGIN');
    try {
      for (const row of rows) {
        if (row[0] === 'decision') this.insertDecision.run(row.slice(1) as SqlValue[]);
        else this.settleDecision.run(row.slice(1) as SqlValue[]);
      }
      this.setMeta('coverage', JSON.stringify(coverage));
      this.db.run('COMMIT');
    } catch (err) {
      this.db.run('ROLLBACK');
      throw err;
    }
  }

  /** Forgets pruned decisions. */
  removeThrough(seq: number): void {
    this.db.run('DELETE FROM decisions WHERE seq <= ?', [seq]);
  }

  isSettled(decisionId: string): boolean {
    const rows = this.db.exec('SELECT settled FROM decisions WHERE id = ?', [decisionId]);
    return rows.length > 0 && rows[0].values[0][0] === 1;
  }

  /** Decisions at or after `since` that have no settle record (the crash came mid-call). */
  unsettledSince(since: string): Set<string> {
    const out = new Set<string>();
    const stmt = this.db.prepare('SELECT id FROM decisions WHERE settled = 0 AND time >= ?');
    try {
      stmt.bind([since]);
      while (stmt.step()) out.add(String(stmt.get()[0]));
    } finally {
      stmt.free();
    }
    return out;
  }

  recentDecisions(limit: number): DecisionSummary[] {
    const rows = this.db.exec(
      `SELECT id, seq, time, user, agent, model, model_served, provider, route, outcome, status, rule, shadow, settled, ${COST}
       FROM decisions ORDER BY seq DESC LIMIT ?`,
      [limit],
    );
    if (!rows.length) return [];
    return rows[0].values.map((v) => ({
      id: String(v[0]), seq: Number(v[1]), time: String(v[2]), user: String(v[3]), agent: String(v[4]), model: String(v[5]),
      model_served: nullableString(v[6]), provider: String(v[7]), route: String(v[8]), outcome: String(v[9]) as DecisionOutcome,
      status: Number(v[10]), rule: nullableString(v[11]), shadow: v[12] === 1, settled: v[13] === 1, usd: Number(v[14] ?? 0),
    }));
  }

  spendBy(dimension: SpendDimension, range: TimeRange = {}): SpendRow[] {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (range.since !== undefined) {
      where.push('time >= ?');
      params.push(range.since);
    }
    if (range.until !== undefined) {
      where.push('time < ?');
      params.push(range.until);
    }
    const rows = this.db.exec(
      `SELECT ${GROUP[dimension]} AS k, COUNT(*), SUM(${INPUT}), SUM(${OUTPUT}), SUM(${COST}) FROM decisions
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} GROUP BY k ORDER BY k`,
      params,
    );
    if (!rows.length) return [];
    return rows[0].values.map((v) => ({
      key: String(v[0]), requests: Number(v[1]), input_tokens: Number(v[2] ?? 0), output_tokens: Number(v[3] ?? 0), usd: Number(v[4] ?? 0),
    }));
  }

  /** Writes a snapshot atomically (temp file, fsync, rename). */
  saveSnapshot(file: string): void {
    const bytes = this.db.export();
    // Some sql.js versions free prepared statements on export; prepare them again.
    this.insertDecision = this.prepareInsert();
    this.settleDecision = this.prepareSettle();
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  }

  close(): void {
    this.db.close();
  }
}

function nullableString(v: SqlValue): string | null {
  return v === null ? null : String(v);
}
