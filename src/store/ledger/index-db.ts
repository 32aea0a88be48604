import * as fs from 'node:fs';
import * as path from 'node:path';
import initSqlJs from 'sql.js';
import type { Database, SqlJsStatic, SqlValue, Statement } from 'sql.js';
import type { AuditRecord, DecisionOutcome } from '../../contracts/audit-records';
import { roundUsd } from '../../contracts/audit-records';
import type {
  DecisionSummary, HourlyDimension, HourlyRow, SpendDimension, SpendRow, TimeRange, ToolActivity, ToolActivityQuery, ToolCallGroups, ToolCallRow,
} from '../../contracts/ledger-queries';
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

/*
 * The index holds in full only the newest decisions (the detail window, as many as the index
 * service keeps). Older ones are rolled up: per hour, person, agent and model, the calls, tokens and
 * cost they count, which is all a spend question needs; hours more than two days behind the newest
 * are merged into one bucket per day, so the rollup grows with the days and the people, agents and
 * models active in them, not with the calls. A question about an older decision itself (an old
 * range's edge, a long list of recent decisions, whether an old call settled) is answered from the
 * journal (see rolled-history.ts).
 *
 * `totals` and `day_totals` hold the same sums over every rolled-up decision, per person, agent and
 * model and per day: what the dashboard asks (spend over the whole ledger) reads them, not the rollup.
 *
 * `tool_days` counts tool calls per UTC day, person and agent as their records arrive, never rolled
 * up: MCP tools/calls (provider `mcp`) per route `<server>/<tool>`, with their refusals, and on the
 * row with route '' the tool calls models asked for in their responses (settle records'
 * `tool_calls`). It grows with the days and the agents and tools active in them, not with the calls.
 *
 * `rolled` names, for each hour (or day kept whole) with rolled-up decisions, how far the index
 * covered when it last rolled one of them: a settle up to there was applied before its decision was
 * rolled up, so it is in the journal up to there; one after it is in `late_settles`.
 */
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
CREATE INDEX IF NOT EXISTS decisions_seq ON decisions (seq);
CREATE INDEX IF NOT EXISTS decisions_unsettled ON decisions (settled, time);
CREATE TABLE IF NOT EXISTS rollup (
  hour TEXT NOT NULL, user TEXT NOT NULL, agent TEXT NOT NULL, model TEXT NOT NULL,
  requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, usd REAL NOT NULL,
  PRIMARY KEY (hour, user, agent, model)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rolled (hour TEXT PRIMARY KEY, through INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS totals (
  user TEXT NOT NULL, agent TEXT NOT NULL, model TEXT NOT NULL,
  requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, usd REAL NOT NULL,
  PRIMARY KEY (user, agent, model)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS day_totals (
  day TEXT PRIMARY KEY, requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, usd REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tool_days (
  day TEXT NOT NULL, user TEXT NOT NULL, agent TEXT NOT NULL, route TEXT NOT NULL,
  calls INTEGER NOT NULL, refused INTEGER NOT NULL, model_tool_calls INTEGER NOT NULL,
  PRIMARY KEY (day, user, agent, route)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS late_settles (id TEXT PRIMARY KEY, usd REAL, input_tokens INTEGER, output_tokens INTEGER) WITHOUT ROWID;
CREATE TEMP TABLE IF NOT EXISTS older AS SELECT * FROM decisions WHERE 0;
`;

const SCHEMA_VERSION = '4';

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
  'user-day': `day || ' ' || user`,
  'agent-day': `day || ' ' || user || '/' || agent`,
  'model-day': `day || ' ' || COALESCE(model_served, model)`,
};
// The same keys from the rollup, which keeps the model served (else asked) as `model`.
const ROLLUP_GROUP: Record<SpendDimension, string> = {
  user: 'user',
  agent: `user || '/' || agent`,
  model: 'model',
  day: 'substr(hour, 1, 10)',
  'user-day': `substr(hour, 1, 10) || ' ' || user`,
  'agent-day': `substr(hour, 1, 10) || ' ' || user || '/' || agent`,
  'model-day': `substr(hour, 1, 10) || ' ' || model`,
};
// Every rolled-up decision's sums by each key, for spend over the whole ledger.
const TOTALS: Record<SpendDimension, string> = {
  user: 'SELECT user, requests, input_tokens, output_tokens, usd FROM totals',
  agent: `SELECT user || '/' || agent, requests, input_tokens, output_tokens, usd FROM totals`,
  model: 'SELECT model, requests, input_tokens, output_tokens, usd FROM totals',
  day: 'SELECT day, requests, input_tokens, output_tokens, usd FROM day_totals',
  // The totals keep no day: over time, the rollup itself answers (its buckets are hours or whole days).
  'user-day': `SELECT ${ROLLUP_GROUP['user-day']}, requests, input_tokens, output_tokens, usd FROM rollup`,
  'agent-day': `SELECT ${ROLLUP_GROUP['agent-day']}, requests, input_tokens, output_tokens, usd FROM rollup`,
  'model-day': `SELECT ${ROLLUP_GROUP['model-day']}, requests, input_tokens, output_tokens, usd FROM rollup`,
};

/**
 * What the index keeps of a record, as plain values: the thread that seals records hands these to
 * the index's thread, so only the columns cross, not whole records.
 */
export type IndexRow =
  | readonly ['decision', string, number, string, string, string, string, string, string | null, string, string, string, number, string | null, number, number, number, number]
  | readonly ['settle', number, number | null, number | null, string, number | null];

/** The index's row for a record; null for kinds it does not keep (checkpoints). */
export function indexRowOf(r: AuditRecord): IndexRow | null {
  if (r.kind === 'decision') {
    return [
      'decision', r.id, r.seq, r.time, r.time.slice(0, 10), r.identity.user, r.identity.agent, r.model, r.model_served, r.provider, r.route,
      r.outcome, r.status, r.rule, r.shadow ? 1 : 0, r.reserved.usd, r.reserved.input_tokens, r.reserved.output_tokens,
    ];
  }
  // A settle written before tool calls were counted has no tool_calls.
  if (r.kind === 'settle') return ['settle', r.usd, r.usage.input_tokens, r.usage.output_tokens, r.decision, r.tool_calls ?? null];
  return null;
}

/**
 * A decision as the index holds it in detail, in the `decisions` table's column order: its
 * decision row's values, then whether it settled and what the settle said.
 */
export type DetailRow = [
  id: string, seq: number, time: string, day: string, user: string, agent: string, model: string, model_served: string | null,
  provider: string, route: string, outcome: string, status: number, rule: string | null, shadow: number,
  reserved_usd: number, reserved_input: number, reserved_output: number,
  settled: number, usd: number | null, input_tokens: number | null, output_tokens: number | null,
];

/** A settle's values, as the index keeps them for its decision. */
export type SettleValues = readonly [usd: number, input_tokens: number | null, output_tokens: number | null];

/** The detail of a decision row that has not settled. */
export function detailOf(row: Extract<IndexRow, readonly ['decision', ...unknown[]]>): DetailRow {
  return [...row.slice(1), 0, null, null, null] as DetailRow;
}

/** What a decision counts in spend (as COST, INPUT and OUTPUT say), from its detail. */
export function countsOf(d: DetailRow): [usd: number, input: number, output: number] {
  if (d[17] === 1) return [d[18] ?? 0, d[19] ?? d[15], d[20] ?? d[16]];
  if (d[10] === 'refuse' && d[13] === 0) return [0, 0, 0];
  return [d[14], d[15], d[16]];
}

/** A span of time [from, to) whose rolled-up decisions must be read in detail; to null: no end. */
export interface OlderSpan {
  from: string;
  to: string | null;
}

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;
/**
 * Hours stay hours this many days behind the newest rolled-up hour; older ones are kept per day.
 * A week and a day: guards.divergence takes an identity's baseline over its hours of the last week.
 */
const HOURLY_DAYS = 8;

/** The hour a time falls in, as the rollup names it. */
function hourOf(time: string): string {
  return time.slice(0, 13);
}

/** The UTC day a time falls in, as the rollup names a day kept whole. */
function dayOf(time: string): string {
  return time.slice(0, 10);
}

/** Where a rollup bucket (an hour, or a day kept whole) begins. */
export function bucketStart(bucket: string): string {
  return bucket.length === 10 ? `${bucket}T00:00:00.000Z` : `${bucket}:00:00.000Z`;
}

function bucketEnd(bucket: string): string {
  return new Date(Date.parse(bucketStart(bucket)) + (bucket.length === 10 ? DAY_MS : HOUR_MS)).toISOString();
}

/** The provider MCP tools/call decisions are recorded under. */
const MCP_PROVIDER = 'mcp';

type SettleIndexRow = Extract<IndexRow, readonly ['settle', ...unknown[]]>;

export class LedgerIndex {
  private insertDecision: Statement;
  private settleDecision: Statement;
  private countToolCall: Statement;
  private countModelToolCallsStmt: Statement;
  /** Every decision up to this seq is rolled up; after it, each is held in detail. */
  private rolledSeq: number;
  /** How many decisions are held in detail, at most: counted as they come, since COUNT(*) takes about 2 ms at the window's size. */
  private held: number;

  private constructor(private readonly db: Database) {
    this.insertDecision = this.prepareInsert();
    this.settleDecision = this.prepareSettle();
    [this.countToolCall, this.countModelToolCallsStmt] = this.prepareToolCounts();
    this.rolledSeq = Number(this.meta('rolled_seq') ?? 0);
    this.held = this.countHeld();
  }

  private countHeld(): number {
    return Number(this.db.exec('SELECT COUNT(*) FROM decisions')[0].values[0][0]);
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

  private prepareToolCounts(): [Statement, Statement] {
    return [
      this.db.prepare(
        `INSERT INTO tool_days (day, user, agent, route, calls, refused, model_tool_calls) VALUES (?, ?, ?, ?, 1, ?, 0)
         ON CONFLICT (day, user, agent, route) DO UPDATE SET calls = calls + 1, refused = refused + excluded.refused`,
      ),
      this.db.prepare(
        `INSERT INTO tool_days (day, user, agent, route, calls, refused, model_tool_calls) VALUES (?, ?, ?, '', 0, 0, ?)
         ON CONFLICT (day, user, agent, route) DO UPDATE SET model_tool_calls = model_tool_calls + excluded.model_tool_calls`,
      ),
    ];
  }

  /** Counts the tool calls a model call's response asked for, on its decision's day, person and agent. */
  countModelToolCalls(day: string, user: string, agent: string, n: number): void {
    if (n > 0) this.countModelToolCallsStmt.run([day, user, agent, n]);
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

  /** The last decision seq rolled up (0: none). */
  get rolledThrough(): number {
    return this.rolledSeq;
  }

  /**
   * Adds durable records' rows, in one transaction, and notes how far the index now covers.
   * Returns the settles whose decision is not held in detail: rolled up, or not in the index at all.
   */
  addBatch(rows: readonly IndexRow[], coverage: IndexCoverage): SettleIndexRow[] {
    const missed: SettleIndexRow[] = [];
    this.db.run('BEGIN');
    try {
      for (const row of rows) {
        if (row[0] === 'decision') {
          this.insertDecision.run(row.slice(1) as SqlValue[]);
          this.held++; // a replaced id counts twice until the next roll-up counts again
          if (row[9] === MCP_PROVIDER) this.countToolCall.run([row[4], row[5], row[6], row[10], row[11] === 'refuse' && row[14] === 0 ? 1 : 0]);
        } else {
          this.settleDecision.run(row.slice(1, 5) as SqlValue[]);
          if (this.db.getRowsModified() === 0) missed.push(row);
          else if (row[5]) this.countSettledToolCalls(row[4], row[5]);
        }
      }
      this.setMeta('coverage', JSON.stringify(coverage));
      this.db.run('COMMIT');
    } catch (err) {
      this.db.run('ROLLBACK');
      throw err;
    }
    return missed;
  }

  /** A held decision's day, person and agent take the tool calls its response asked for. */
  private countSettledToolCalls(decisionId: string, n: number): void {
    const rows = this.db.exec('SELECT day, user, agent FROM decisions WHERE id = ?', [decisionId]);
    const v = rows[0]?.values[0];
    if (v) this.countModelToolCalls(String(v[0]), String(v[1]), String(v[2]), n);
  }

  /** Tool calls grouped by agent, server and tool, on `today` and from `since` on, and the newest refused MCP calls held in detail. */
  toolActivity(q: ToolActivityQuery): ToolActivity {
    const groups = (where: string, day: string): ToolCallGroups => {
      const select = (key: string, filter: string): ToolCallRow[] => {
        const rows = this.db.exec(
          `SELECT ${key} AS k, SUM(calls), SUM(refused), SUM(model_tool_calls) FROM tool_days WHERE ${where}${filter} GROUP BY k ORDER BY k`,
          [day],
        );
        return (rows[0]?.values ?? []).map((v) => ({ key: String(v[0]), calls: Number(v[1]), refused: Number(v[2]), model_tool_calls: Number(v[3]) }));
      };
      return {
        byAgent: select(`user || '/' || agent`, ''),
        byServer: select(`substr(route, 1, instr(route, '/') - 1)`, ` AND route <> ''`),
        byTool: select('route', ` AND route <> ''`),
      };
    };
    const refused = this.db.exec(
      `SELECT id, time, user, agent, route, rule, status FROM decisions WHERE provider = ? AND outcome = 'refuse' AND shadow = 0 ORDER BY seq DESC LIMIT ?`,
      [MCP_PROVIDER, q.refusals],
    );
    return {
      today: groups('day = ?', q.today),
      window: groups('day >= ?', q.since),
      refusals: (refused[0]?.values ?? []).map((v) => {
        const route = String(v[4]);
        const cut = route.indexOf('/');
        return {
          id: String(v[0]), time: String(v[1]), user: String(v[2]), agent: String(v[3]), server: route.slice(0, Math.max(0, cut)), tool: route.slice(cut + 1),
          rule: nullableString(v[5]), status: Number(v[6]),
        };
      }),
    };
  }

  /** How many decisions are held in detail. */
  detailCount(): number {
    return this.countHeld();
  }

  /** How many decisions are held in detail at most, without counting them (see held): whether to roll up. */
  heldAtMost(): number {
    return this.held;
  }

  /**
   * Rolls up every detailed decision but the newest `keep`, as they count now, into the hourly
   * rollup; `covered` is the seq the index covers (every settle up to it is applied).
   */
  rollUp(keep: number, covered: number): void {
    const cut = this.db.exec('SELECT seq FROM decisions ORDER BY seq DESC LIMIT 1 OFFSET ?', [keep]);
    if (!cut.length) {
      this.held = this.countHeld();
      return;
    }
    const through = Number(cut[0].values[0][0]);
    this.db.run('BEGIN');
    try {
      this.db.run(
        `INSERT INTO rollup (hour, user, agent, model, requests, input_tokens, output_tokens, usd)
         SELECT substr(time, 1, 13), user, agent, COALESCE(model_served, model), COUNT(*), SUM(${INPUT}), SUM(${OUTPUT}), SUM(${COST})
         FROM decisions WHERE seq <= ? GROUP BY 1, 2, 3, 4
         ON CONFLICT (hour, user, agent, model) DO UPDATE SET requests = requests + excluded.requests,
           input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens, usd = usd + excluded.usd`,
        [through],
      );
      this.db.run(
        `INSERT INTO totals (user, agent, model, requests, input_tokens, output_tokens, usd)
         SELECT user, agent, COALESCE(model_served, model), COUNT(*), SUM(${INPUT}), SUM(${OUTPUT}), SUM(${COST})
         FROM decisions WHERE seq <= ? GROUP BY 1, 2, 3
         ON CONFLICT (user, agent, model) DO UPDATE SET requests = requests + excluded.requests,
           input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens, usd = usd + excluded.usd`,
        [through],
      );
      this.db.run(
        `INSERT INTO day_totals (day, requests, input_tokens, output_tokens, usd)
         SELECT day, COUNT(*), SUM(${INPUT}), SUM(${OUTPUT}), SUM(${COST}) FROM decisions WHERE seq <= ? GROUP BY 1
         ON CONFLICT (day) DO UPDATE SET requests = requests + excluded.requests,
           input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens, usd = usd + excluded.usd`,
        [through],
      );
      this.db.run(
        `INSERT INTO rolled (hour, through) SELECT DISTINCT substr(time, 1, 13), ? FROM decisions WHERE seq <= ?
         ON CONFLICT (hour) DO UPDATE SET through = excluded.through`,
        [covered, through],
      );
      this.db.run('DELETE FROM decisions WHERE seq <= ?', [through]);
      this.keepOldDaysWhole();
      this.held = this.countHeld();
      this.rolledSeq = Math.max(this.rolledSeq, through);
      this.setMeta('rolled_seq', String(this.rolledSeq));
      this.db.run('COMMIT');
    } catch (err) {
      this.db.run('ROLLBACK');
      throw err;
    }
  }

  /**
   * Days more than HOURLY_DAYS behind the newest rolled-up hour are kept as one bucket per day, so
   * the rollup grows by a day's people, agents and models per day, not by each hour's.
   */
  private keepOldDaysWhole(): void {
    const newest = this.db.exec('SELECT MAX(hour) FROM rolled WHERE length(hour) = 13')[0]?.values[0][0];
    if (typeof newest !== 'string') return;
    const before = new Date(Date.parse(bucketStart(dayOf(newest))) - HOURLY_DAYS * DAY_MS).toISOString().slice(0, 10);
    if (!this.db.exec('SELECT 1 FROM rolled WHERE length(hour) = 13 AND hour < ? LIMIT 1', [before]).length) return;
    this.db.run(
      `INSERT INTO rollup (hour, user, agent, model, requests, input_tokens, output_tokens, usd)
       SELECT substr(hour, 1, 10), user, agent, model, SUM(requests), SUM(input_tokens), SUM(output_tokens), SUM(usd)
       FROM rollup WHERE length(hour) = 13 AND hour < ? GROUP BY 1, 2, 3, 4
       ON CONFLICT (hour, user, agent, model) DO UPDATE SET requests = requests + excluded.requests,
         input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens, usd = usd + excluded.usd`,
      [before],
    );
    this.db.run('DELETE FROM rollup WHERE length(hour) = 13 AND hour < ?', [before]);
    this.db.run(
      `INSERT INTO rolled (hour, through) SELECT substr(hour, 1, 10), MAX(through) FROM rolled WHERE length(hour) = 13 AND hour < ? GROUP BY 1
       ON CONFLICT (hour) DO UPDATE SET through = MAX(through, excluded.through)`,
      [before],
    );
    this.db.run('DELETE FROM rolled WHERE length(hour) = 13 AND hour < ?', [before]);
  }

  /**
   * A settle for a rolled-up decision (`was`: its detail as the rollup counts it): the rollup
   * counts the settle instead, and the settle is kept for questions about the decision.
   */
  settleRolled(was: DetailRow, settle: SettleValues): void {
    const now: DetailRow = [...was.slice(0, 17), 1, ...settle] as DetailRow;
    const [u0, i0, o0] = countsOf(was);
    const [u1, i1, o1] = countsOf(now);
    this.db.run('BEGIN');
    try {
      this.db.run(
        `UPDATE rollup SET input_tokens = input_tokens + ?, output_tokens = output_tokens + ?, usd = usd - ? + ?
         WHERE hour IN (?, ?) AND user = ? AND agent = ? AND model = ?`,
        [i1 - i0, o1 - o0, u0, u1, hourOf(was[2]), dayOf(was[2]), was[4], was[5], was[7] ?? was[6]],
      );
      this.db.run(
        `UPDATE totals SET input_tokens = input_tokens + ?, output_tokens = output_tokens + ?, usd = usd - ? + ?
         WHERE user = ? AND agent = ? AND model = ?`,
        [i1 - i0, o1 - o0, u0, u1, was[4], was[5], was[7] ?? was[6]],
      );
      this.db.run(
        'UPDATE day_totals SET input_tokens = input_tokens + ?, output_tokens = output_tokens + ?, usd = usd - ? + ? WHERE day = ?',
        [i1 - i0, o1 - o0, u0, u1, was[3]],
      );
      this.db.run('INSERT OR REPLACE INTO late_settles (id, usd, input_tokens, output_tokens) VALUES (?, ?, ?, ?)', [was[0], ...settle]);
      this.db.run('COMMIT');
    } catch (err) {
      this.db.run('ROLLBACK');
      throw err;
    }
  }

  /** The settle a rolled-up decision received after it was rolled up, if any. */
  lateSettle(id: string): SettleValues | null {
    const rows = this.db.exec('SELECT usd, input_tokens, output_tokens FROM late_settles WHERE id = ?', [id]);
    if (!rows.length) return null;
    const v = rows[0].values[0];
    return [Number(v[0]), v[1] === null ? null : Number(v[1]), v[2] === null ? null : Number(v[2])];
  }

  /**
   * How far to read the journal for the settles of decisions rolled up from `from` to `to` (times;
   * null: on to the newest); 0: none rolled up there. Counted from the start of `from`'s day, so a
   * day kept whole counts too.
   */
  rolledThroughFor(from: string, to: string | null): number {
    const rows = this.db.exec(
      to === null ? 'SELECT MAX(through) FROM rolled WHERE hour >= ?' : 'SELECT MAX(through) FROM rolled WHERE hour >= ? AND hour <= ?',
      to === null ? [dayOf(from)] : [dayOf(from), hourOf(to)],
    );
    return Number(rows[0]?.values[0][0] ?? 0);
  }

  /** The newest bucket from which on the rolled-up decisions number at least `count` (null: none rolled up). */
  bucketHoldingLast(count: number): string | null {
    const stmt = this.db.prepare('SELECT hour, SUM(requests) FROM rollup GROUP BY hour ORDER BY hour DESC');
    try {
      let n = 0;
      let hour: string | null = null;
      while (stmt.step()) {
        const v = stmt.get();
        hour = String(v[0]);
        n += Number(v[1]);
        if (n >= count) return hour;
      }
      return hour;
    } finally {
      stmt.free();
    }
  }

  /**
   * The spans of a spend range that the rollup cannot answer: the part of a bucket (an hour, or a
   * day kept whole) at each end of the range that the range only partly covers, where that bucket
   * has rolled-up decisions.
   */
  partialBuckets(range: TimeRange): OlderSpan[] {
    const spans: OlderSpan[] = [];
    const { since, until } = range;
    if (since !== undefined && until !== undefined && since >= until) return spans;
    const rolled = (bucket: string): boolean => this.db.exec('SELECT 1 FROM rolled WHERE hour = ?', [bucket]).length > 0;
    /** The rolled-up bucket `time` falls inside of (not at its start), if any. */
    const inside = (time: string | undefined): string | null => {
      if (time === undefined) return null;
      for (const bucket of [dayOf(time), hourOf(time)]) if (rolled(bucket)) return time === bucketStart(bucket) ? null : bucket;
      return null;
    };
    const first = inside(since);
    const last = inside(until);
    if (first !== null && first === last) return [{ from: since as string, to: until as string }];
    if (first !== null) spans.push({ from: since as string, to: until !== undefined && until < bucketEnd(first) ? until : bucketEnd(first) });
    if (last !== null) spans.push({ from: since !== undefined && since > bucketStart(last) ? since : bucketStart(last), to: until as string });
    return spans;
  }

  /** Forgets every decision and rollup (the index is then rebuilt from the pruned journal). */
  clear(): void {
    this.db.run('DELETE FROM decisions; DELETE FROM rollup; DELETE FROM totals; DELETE FROM day_totals; DELETE FROM rolled; DELETE FROM late_settles; DELETE FROM tool_days;');
    this.rolledSeq = 0;
    this.held = 0;
    this.setMeta('rolled_seq', '0');
    this.db.run(`DELETE FROM meta WHERE key = 'coverage'`);
  }

  /** Held in detail: whether it settled; null when the decision is not held in detail. */
  isSettled(decisionId: string): boolean | null {
    const rows = this.db.exec('SELECT settled FROM decisions WHERE id = ?', [decisionId]);
    return rows.length > 0 ? rows[0].values[0][0] === 1 : null;
  }

  /** Decisions held in detail, at or after `since`, that have no settle record (the crash came mid-call). */
  unsettledSince(since: string, out = new Set<string>()): Set<string> {
    const stmt = this.db.prepare('SELECT id FROM decisions WHERE settled = 0 AND time >= ?');
    try {
      stmt.bind([since]);
      while (stmt.step()) out.add(String(stmt.get()[0]));
    } finally {
      stmt.free();
    }
    return out;
  }

  /** The newest decisions; `older` are rolled-up decisions read from the journal, to fill the list past the detail window. */
  recentDecisions(limit: number, older: readonly DetailRow[] = []): DecisionSummary[] {
    const rows = this.withOlder(older, () =>
      this.db.exec(
        `SELECT id, seq, time, user, agent, model, model_served, provider, route, outcome, status, rule, shadow, settled, ${COST}
         FROM (SELECT * FROM decisions${older.length ? ' UNION ALL SELECT * FROM temp.older' : ''}) ORDER BY seq DESC LIMIT ?`,
        [limit],
      ),
    );
    if (!rows.length) return [];
    return rows[0].values.map((v) => ({
      id: String(v[0]), seq: Number(v[1]), time: String(v[2]), user: String(v[3]), agent: String(v[4]), model: String(v[5]),
      model_served: nullableString(v[6]), provider: String(v[7]), route: String(v[8]), outcome: String(v[9]) as DecisionOutcome,
      status: Number(v[10]), rule: nullableString(v[11]), shadow: v[12] === 1, settled: v[13] === 1, usd: Number(v[14] ?? 0),
    }));
  }

  /**
   * Spend in `range`: detailed decisions, the rollup's hours that lie wholly in the range, and
   * `older`, the rolled-up decisions of the range's partly covered buckets (see partialBuckets).
   */
  spendBy(dimension: SpendDimension, range: TimeRange = {}, older: readonly DetailRow[] = []): SpendRow[] {
    const where: string[] = [];
    const params: SqlValue[] = [];
    // Rollup buckets (hours, and days kept whole) that lie wholly inside the range.
    const hours: string[] = [];
    const days: string[] = [];
    const hourParams: SqlValue[] = [];
    const dayParams: SqlValue[] = [];
    if (range.since !== undefined) {
      where.push('time >= ?');
      params.push(range.since);
      const h = hourOf(range.since);
      hours.push(range.since === bucketStart(h) ? 'hour >= ?' : 'hour > ?');
      hourParams.push(h);
      const d = dayOf(range.since);
      days.push(range.since === bucketStart(d) ? 'hour >= ?' : 'hour > ?');
      dayParams.push(d);
    }
    if (range.until !== undefined) {
      where.push('time < ?');
      params.push(range.until);
      hours.push('hour < ?');
      hourParams.push(hourOf(range.until));
      days.push('hour < ?');
      dayParams.push(dayOf(range.until));
    }
    const inRange = `(length(hour) = 13${hours.map((c) => ` AND ${c}`).join('')}) OR (length(hour) = 10${days.map((c) => ` AND ${c}`).join('')})`;
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const detail = `SELECT ${GROUP[dimension]} AS k, 1 AS n, ${INPUT} AS i, ${OUTPUT} AS o, ${COST} AS u FROM`;
    const rows = this.withOlder(older, () =>
      this.db.exec(
        `SELECT k, SUM(n), SUM(i), SUM(o), SUM(u) FROM (
           ${detail} decisions ${filter}
           ${older.length ? `UNION ALL ${detail} temp.older` : ''}
           ${this.rolledSeq > 0 ? `UNION ALL ${where.length ? `SELECT ${ROLLUP_GROUP[dimension]}, requests, input_tokens, output_tokens, usd FROM rollup WHERE ${inRange}` : TOTALS[dimension]}` : ''}
         ) GROUP BY k ORDER BY k`,
        [...params, ...(this.rolledSeq > 0 && where.length ? [...hourParams, ...dayParams] : [])],
      ),
    );
    if (!rows.length) return [];
    return rows[0].values.map((v) => ({
      key: String(v[0]), requests: Number(v[1]), input_tokens: Number(v[2] ?? 0), output_tokens: Number(v[3] ?? 0), usd: roundUsd(Number(v[4] ?? 0)), // the roll-up adds in another order than the detail rows
    }));
  }

  /**
   * Calls, tokens and USD per identity and hour over the hours from `since` to `until` (each cut to
   * its hour), from the detail and the roll-up's hours. Days the roll-up keeps whole have no hours
   * and are left out: they lie further back than a baseline reaches.
   */
  hourly(dimension: HourlyDimension, range: Required<TimeRange>): HourlyRow[] {
    const agent = dimension === 'user' ? 'NULL' : 'agent';
    const from = hourOf(range.since);
    const to = hourOf(range.until);
    const rows = this.db.exec(
      `SELECT p, a, h, SUM(n), SUM(t), SUM(u) FROM (
         SELECT user AS p, ${agent} AS a, substr(time, 1, 13) AS h, 1 AS n, ${INPUT} + ${OUTPUT} AS t, ${COST} AS u FROM decisions WHERE time >= ? AND time < ?
         UNION ALL SELECT user, ${agent}, hour, requests, input_tokens + output_tokens, usd FROM rollup WHERE length(hour) = 13 AND hour >= ? AND hour < ?
       ) GROUP BY p, a, h ORDER BY p, a, h`,
      [bucketStart(from), bucketStart(to), from, to],
    );
    if (!rows.length) return [];
    return rows[0].values.map((v) => ({
      user: String(v[0]), agent: v[1] === null ? null : String(v[1]), hour: String(v[2]), calls: Number(v[3]), tokens: Number(v[4] ?? 0), usd: roundUsd(Number(v[5] ?? 0)),
    }));
  }

  /** Runs `query` with `older` loaded in the temporary table it may read, which is emptied after. */
  private withOlder<T>(older: readonly DetailRow[], query: () => T): T {
    if (!older.length) return query();
    const insert = this.db.prepare(`INSERT INTO temp.older VALUES (${new Array(21).fill('?').join(',')})`);
    try {
      for (const row of older) insert.run(row as SqlValue[]);
      return query();
    } finally {
      insert.free();
      this.db.run('DELETE FROM temp.older');
    }
  }

  /** Writes a snapshot atomically (temp file, fsync, rename). */
  saveSnapshot(file: string): void {
    const bytes = this.db.export();
    // Some sql.js versions free prepared statements on export; prepare them again.
    this.insertDecision = this.prepareInsert();
    this.settleDecision = this.prepareSettle();
    [this.countToolCall, this.countModelToolCallsStmt] = this.prepareToolCounts();
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
