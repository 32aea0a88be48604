import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AuditRecord } from '../../../src/contracts/audit-records';
import type { DecisionSummary, SpendDimension, TimeRange } from '../../../src/contracts/ledger-queries';
import { indexRowOf, loadSqlJs } from '../../../src/store/ledger/index-db';
import type { IndexCoverage, IndexRow } from '../../../src/store/ledger/index-db';
import { IndexService } from '../../../src/store/ledger/index-service';
import type { IndexQuery } from '../../../src/store/ledger/index-service';
import { Ledger } from '../../../src/store/ledger/ledger';
import { ledgerPaths, scanJournal } from '../../../src/store/ledger/segments';
import { decision, settle, steppingClock, tempDir } from './fixtures';

// The index holds only its newest decisions in detail and rolls older ones up per hour. Every
// question must be answered as when it held them all: these compare an index with a tiny detail
// window against one that never rolls anything up, on the same journal.

const T0 = Date.parse('2026-03-01T00:00:00Z');
const STEP = 7 * 60_000; // a record every 7 minutes: about 8 per hour, across many hours

/** Dollar amounts with an exact binary form, so sums in any order are equal. */
const usd = (n: number): number => ((n % 13) + 1) / 256;

interface Written {
  dir: string;
  decisions: { id: string; time: string }[];
  late: string[];
}

/**
 * A day of traffic: most calls settle a record later, every seventh much later (past the detail
 * window), some are refused (never settled, shadowed or not), some end in an error, some never
 * settle (a crash mid-call), some name no served model.
 */
async function writeJournal(count: number, ledger?: Ledger, clock = steppingClock(T0, STEP)): Promise<Written & { ledger: Ledger }> {
  const dir = ledger?.dataDir ?? tempDir('tollgate-rollup-');
  const l = ledger ?? (await Ledger.open(dir, { index: false, clock }));
  const decisions: Written['decisions'] = [];
  const later: string[] = [];
  const late: string[] = [];
  for (let n = 0; n < count; n++) {
    const kind = n % 11;
    const body = decision(n, {
      outcome: kind === 3 ? 'refuse' : kind === 5 ? 'error' : kind === 8 ? 'downgrade' : 'allow',
      shadow: kind === 3 && n % 2 === 0,
      model_served: kind === 6 ? null : n % 4 === 0 ? 'gpt-4o' : 'gpt-4o-mini',
      identity: { user: `user${n % 4}@acme.dev`, agent: n % 3 ? 'default' : 'batch-eval', session: null, roles: [] },
      reserved: { input_tokens: 100 + n, output_tokens: 1024, usd: usd(n) },
    });
    const { record } = l.append(body);
    decisions.push({ id: record.id, time: record.time });
    if (later.length) l.append(settle(later.shift()!, usd(n + 5)));
    if (kind === 3 || kind === 5 || kind === 9) continue;
    if (n % 7 === 0) late.push(record.id);
    else later.push(record.id);
    // A call that lasts past the window: settled many records later, after it was rolled up.
    if (late.length && n % 7 === 6 && n > 40) {
      const id = late.shift()!;
      const s = settle(id, usd(n + 2));
      if (n % 2) s.usage = { input_tokens: null, output_tokens: null };
      l.append(s);
    }
  }
  await l.append(decision(count, { reserved: { input_tokens: 1, output_tokens: 1, usd: usd(count) } })).durable;
  return { dir, decisions, late, ledger: l };
}

async function openService(dir: string, name: string, detailWindow: number, tipSeq: number): Promise<IndexService> {
  const paths = { ...ledgerPaths(dir), index: path.join(dir, name) };
  return IndexService.open({ paths, tip: { seq: tipSeq, hash: '', time: null, next: { segment: 1, offset: 0 } }, snapshotEvery: 1_000_000, detailWindow });
}

async function ask<Q extends IndexQuery>(s: IndexService, q: Q): Promise<unknown> {
  const a = await s.answer(q);
  return a instanceof Set ? [...a].sort() : a;
}

/** Ranges whose ends fall on an hour, inside one, in the same hour, before the first record and after the last. */
function ranges(decisions: Written['decisions']): TimeRange[] {
  const first = decisions[0].time;
  const mid = decisions[Math.floor(decisions.length / 2)].time;
  const late = decisions[decisions.length - 3].time;
  const hour = (t: string): string => `${t.slice(0, 13)}:00:00.000Z`;
  const day = (t: string): string => `${t.slice(0, 10)}T00:00:00.000Z`;
  const plus = (t: string, ms: number): string => new Date(Date.parse(t) + ms).toISOString();
  return [
    {},
    { since: mid },
    { until: mid },
    { since: hour(mid) },
    { until: hour(mid) },
    { since: first, until: mid },
    { since: plus(first, 1), until: plus(mid, 1) },
    { since: plus(mid, 60_000), until: plus(mid, 30 * 60_000) },
    { since: hour(first), until: hour(late) },
    { since: plus(hour(mid), -1), until: plus(hour(mid), 3_600_000) },
    { since: day(mid) },
    { until: day(mid) },
    { since: day(first), until: day(late) },
    { since: plus(day(mid), 3_600_000), until: plus(day(mid), 5 * 3_600_000) },
    { since: plus(day(mid), -1), until: plus(day(mid), 86_400_000 + 1) },
    { since: plus(first, 3_600_000), until: plus(late, -3_600_000) },
    { since: mid, until: mid },
    { since: late, until: mid },
    { since: '2025-01-01T00:00:00.000Z', until: '2025-02-01T00:00:00.000Z' },
    { since: '2030-01-01T00:00:00.000Z' },
  ];
}

async function assertSameAnswers(rolled: IndexService, full: IndexService, w: Written): Promise<void> {
  for (const limit of [1, 3, 10, 40, 500]) {
    assert.deepEqual(await ask(rolled, { op: 'recent', limit }), await ask(full, { op: 'recent', limit }), `recent ${limit}`);
  }
  for (const dimension of ['user', 'agent', 'model', 'day', 'user-day', 'agent-day', 'model-day'] as SpendDimension[]) {
    for (const range of ranges(w.decisions)) {
      assert.deepEqual(await ask(rolled, { op: 'spend', dimension, range }), await ask(full, { op: 'spend', dimension, range }), `spend by ${dimension} in ${JSON.stringify(range)}`);
    }
  }
  for (const d of w.decisions) assert.equal(await ask(rolled, { op: 'settled', id: d.id }), await ask(full, { op: 'settled', id: d.id }), `settled ${d.id}`);
  assert.equal(await ask(rolled, { op: 'settled', id: '01ZZZZZZZZZZZZZZZZZZZZZZZZ' }), false);
  for (const d of [w.decisions[0], w.decisions[17], w.decisions[w.decisions.length - 5]]) {
    assert.deepEqual(await ask(rolled, { op: 'unsettledSince', since: d.time }), await ask(full, { op: 'unsettledSince', since: d.time }), `unsettled since ${d.time}`);
  }
}

/** The rows of the records after `seq`, each with the coverage it brings, as the core hands them to the index. */
async function rowsAfter(dir: string, seq: number): Promise<{ row: IndexRow; at: IndexCoverage }[]> {
  const out: { row: IndexRow; at: IndexCoverage }[] = [];
  for await (const line of scanJournal(ledgerPaths(dir).journal)) {
    const r = line.record as AuditRecord;
    if (r.seq <= seq) continue;
    const row = indexRowOf(r);
    if (row) out.push({ row, at: { seq: r.seq, hash: r.hash, next: { segment: line.segment.firstSeq, offset: line.end } } });
  }
  return out;
}

/** Adds rows in batches of `size`, each with the coverage of its last row. */
async function addInBatches(s: IndexService, rows: { row: IndexRow; at: IndexCoverage }[], size: number): Promise<void> {
  for (let i = 0; i < rows.length; i += size) {
    const batch = rows.slice(i, i + size);
    await s.add(batch.map((r) => r.row), batch[batch.length - 1].at);
  }
}

describe('ledger query index rolled up past its detail window', () => {
  for (const [label, count, step] of [['a few hours', 120, STEP], ['days, the older kept per day', 170, 47 * 60_000]] as const) {
    it(`answers every question as an index holding every decision in detail (${label})`, async () => {
      await sameAnswersOver(count, step);
    });
  }

  async function sameAnswersOver(count: number, step: number): Promise<void> {
    const w = await writeJournal(count, undefined, steppingClock(T0, step));
    await w.ledger.close();
    const tip = w.ledger.head.seq;
    const rolled = await openService(w.dir, 'rolled.sqlite', 5, tip);
    const full = await openService(w.dir, 'full.sqlite', 1_000_000, tip);
    const recent = (await rolled.answer({ op: 'recent', limit: 200 })) as DecisionSummary[];
    assert.equal(recent.length, Math.min(count + 1, 200), 'every decision, most of them read back from the journal');
    await assertSameAnswers(rolled, full, w);
    await rolled.close();
    await full.close();
    const SQL = await loadSqlJs();
    const db = new SQL.Database(fs.readFileSync(path.join(w.dir, 'rolled.sqlite')));
    const buckets = db.exec('SELECT length(hour), COUNT(*) FROM rollup GROUP BY 1 ORDER BY 1')[0].values.map((v) => Number(v[0]));
    db.close();
    assert.deepEqual(buckets, step === STEP ? [13] : [10, 13], 'rolled up per hour, and days past the last two kept whole');
  }

  it('counts a settle that arrives after its decision was rolled up, live and after a restart from the snapshot', async () => {
    const clock = steppingClock(T0, STEP);
    const first = await writeJournal(60, undefined, clock);
    const tip = first.ledger.head.seq;
    const rolled = await openService(first.dir, 'rolled.sqlite', 4, tip);
    const full = await openService(first.dir, 'full.sqlite', 1_000_000, tip);
    // More traffic, then the settles of calls rolled up long ago, arriving live.
    const more = await writeJournal(50, first.ledger, clock);
    for (const id of [...first.late, ...more.late]) first.ledger.append(settle(id, 3 / 8));
    await first.ledger.append(decision(1, { reserved: { input_tokens: 1, output_tokens: 1, usd: 1 / 4 } })).durable;
    const rows = await rowsAfter(first.dir, tip);
    await addInBatches(rolled, rows, 9);
    await addInBatches(full, rows, 9);
    const w: Written = { dir: first.dir, decisions: [...first.decisions, ...more.decisions], late: [] };
    for (const id of first.late) assert.equal(await rolled.answer({ op: 'settled', id }), true, `late settle of ${id}`);
    await assertSameAnswers(rolled, full, w);
    await rolled.close();
    await first.ledger.close();

    // Reopened from its snapshot (rollup, late settles and all), it answers the same.
    const again = await openService(first.dir, 'rolled.sqlite', 4, first.ledger.head.seq);
    await assertSameAnswers(again, full, w);
    await again.close();
    await full.close();
  });

  it('forgets pruned decisions, rolled up or not, as the full index does', async () => {
    const w = await writeJournal(100);
    const rolled = await openService(w.dir, 'rolled.sqlite', 6, w.ledger.head.seq);
    const result = await w.ledger.prune(w.decisions[45].time.replace(/:\d\d\.\d+Z$/, ':30.000Z'));
    assert.ok(result.removed > 0);
    await addInBatches(rolled, await rowsAfter(w.dir, w.ledger.head.seq - 1), 1);
    await rolled.answer({ op: 'removeThrough', seq: result.lastSeq });
    await w.ledger.close();
    const full = await openService(w.dir, 'full.sqlite', 1_000_000, w.ledger.head.seq);
    const kept: Written = { ...w, decisions: w.decisions.slice(46) };
    await assertSameAnswers(rolled, full, kept);
    assert.equal(await rolled.answer({ op: 'settled', id: w.decisions[2].id }), false, 'a pruned decision is no longer known');
    await rolled.close();
    await full.close();
  });

  it('sums rolled-up spend to the nano-dollar, without float noise', async () => {
    const dir = tempDir('tollgate-rollup-');
    const l = await Ledger.open(dir, { index: false, clock: steppingClock(T0, STEP) });
    // 0.1 + 0.2 + ... in binary floating point leaves noise in the last bits; amounts are kept to 1e-9.
    const amounts = [0.1, 0.2, 0.7, 0.0015486, 0.3, 0.1];
    for (const [n, amount] of amounts.entries()) {
      const d = l.append(decision(n, { identity: { user: 'ana@acme.dev', agent: 'default', session: null, roles: [] } })).record;
      l.append(settle(d.id, amount));
    }
    const tip = (await l.append(decision(99)).durable).seq;
    await l.close();
    const rolled = await openService(dir, 'rolled.sqlite', 1, tip);
    for (const dimension of ['user', 'agent', 'model', 'day'] as const) {
      for (const r of (await rolled.answer({ op: 'spend', dimension, range: {} })) as { key: string; usd: number }[]) {
        assert.equal(r.usd, Number(r.usd.toFixed(9)), `spend by ${dimension}, ${r.key}: ${r.usd}`);
      }
    }
    const byUser = (await rolled.answer({ op: 'spend', dimension: 'user', range: {} })) as { key: string; usd: number }[];
    assert.equal(byUser.find((r) => r.key === 'ana@acme.dev')?.usd, 1.4015486);
    await rolled.close();
  });
});
