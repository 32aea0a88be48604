import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { exportRecords } from '../../../src/store/ledger/export';
import { Ledger } from '../../../src/store/ledger/ledger';
import type { AuditRecord } from '../../../src/contracts/audit-records';
import { dataDirPublicKey } from '../../../src/store/ledger/signer';
import { verifyLedger } from '../../../src/store/ledger/verify';
import { decision, settle, steppingClock, tempDir } from './fixtures';
import { rewriteAllSegments } from './tamper';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const DAY = 86_400_000;

/** One decision per day from 2026-01-01 (two records a day): even days settled, odd days an alert. */
async function dailyLedger(days: number): Promise<{ dir: string; ledger: Ledger }> {
  const dir = tempDir();
  const ledger = await Ledger.open(dir, { clock: steppingClock(T0, DAY / 2) });
  const durable: Promise<unknown>[] = [];
  for (let d = 0; d < days; d++) {
    const { record, durable: done } = ledger.append(decision(d));
    durable.push(done);
    if (d % 2 === 0) durable.push(ledger.append(settle(record.id, 0.01)).durable);
    else durable.push(ledger.append({ kind: 'alert', rule: 'user-daily', key: 'user1@acme.dev', threshold: 0.5, used: 2.5, limit: 5, unit: 'usd', period_start: '2026-01-01T00:00:00.000Z', policy: { name: 'p', hash: 'h' } }).durable);
  }
  await Promise.all(durable);
  return { dir, ledger };
}

async function collect(records: AsyncIterable<AuditRecord>): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for await (const r of records) out.push(r);
  return out;
}

async function exported(records: AsyncIterable<AuditRecord>, format: 'jsonl' | 'csv'): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await exportRecords(records, format, out);
  return Buffer.concat(chunks).toString('utf8');
}

describe('ledger export', () => {
  it('writes one JSON object per record, oldest first, with the contract fields', async () => {
    const { ledger } = await dailyLedger(4);
    const lines = (await exported(ledger.records(), 'jsonl')).trim().split('\n');
    assert.equal(lines.length, 8);
    const first = JSON.parse(lines[0]) as AuditRecord;
    for (const f of ['id', 'seq', 'time', 'kind', 'prev', 'hash', 'sig', 'outcome', 'shadow', 'status', 'identity', 'classification', 'provider', 'route', 'model', 'model_served', 'trace', 'rule', 'reason', 'exception', 'reserved', 'limits', 'policy']) {
      assert.ok(f in first, `decision lacks ${f}`);
    }
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as AuditRecord).seq), [1, 2, 3, 4, 5, 6, 7, 8]);
    await ledger.close();
  });

  it('filters by --since (inclusive) and --until (exclusive), by time or seq', async () => {
    const { ledger } = await dailyLedger(6); // records every 12h from 2026-01-01T00:00
    const bySince = await collect(ledger.records({ since: '2026-01-02', until: '2026-01-03T00:00:00Z' }));
    assert.deepEqual(bySince.map((r) => r.time), ['2026-01-02T00:00:00.000Z', '2026-01-02T12:00:00.000Z']);
    const bySeq = await collect(ledger.records({ since: 3, until: 5 }));
    assert.deepEqual(bySeq.map((r) => r.seq), [3, 4]);
    await ledger.close();
  });

  it('flattens CSV columns (identity.user, reserved.usd, ...) and quotes what needs it', async () => {
    const { ledger } = await dailyLedger(2);
    ledger.append(decision(9, { reason: 'refused: "user-daily", over budget\nfor today', outcome: 'refuse', rule: 'user-daily', status: 429 }));
    await ledger.close();
    const reopened = await Ledger.open(ledger.dataDir);
    const csv = await exported(reopened.records(), 'csv');
    const [header, firstRow] = csv.split('\r\n');
    const columns = header.split(',');
    for (const c of ['identity.user', 'identity.roles', 'reserved.usd', 'usage.output_tokens', 'exception.id', 'policy.hash']) assert.ok(columns.includes(c), c);
    const cells = firstRow.split(',');
    assert.equal(cells[columns.indexOf('identity.user')], 'user0@acme.dev');
    assert.equal(cells[columns.indexOf('kind')], 'decision');
    assert.ok(csv.includes('"refused: ""user-daily"", over budget\nfor today"'));
    await reopened.close();
  });
});

describe('ledger prune', () => {
  it('removes records before T, leaves a signed checkpoint, and the chain still verifies', async () => {
    const { dir, ledger } = await dailyLedger(10);
    const result = await ledger.prune('2026-01-04T00:00:00Z');
    assert.equal(result.removed, 6); // 3 days x 2 records
    assert.equal(result.lastSeq, 6);
    const kept = await collect(ledger.records());
    assert.equal(kept[0].seq, 7);
    const cp = kept[kept.length - 1];
    assert.equal(cp.kind, 'checkpoint');
    assert.equal(cp.kind === 'checkpoint' && cp.pruned.last_hash, kept[0].prev);
    await ledger.close();
    const r = await verifyLedger(dir, dataDirPublicKey(dir));
    assert.equal(r.ok, true, r.problem?.message);
    assert.equal(r.firstSeq, 7);

    // Prune again, past the first checkpoint: the newer checkpoint stands for everything before.
    const again = await Ledger.open(dir);
    assert.equal((await again.prune('2026-01-08T00:00:00Z')).lastSeq, 14);
    await again.close();
    assert.equal((await verifyLedger(dir, dataDirPublicKey(dir))).ok, true);
  });

  it('fails verify when the checkpoint standing for pruned records is removed', async () => {
    const { dir, ledger } = await dailyLedger(4);
    await ledger.prune('2026-01-03T00:00:00Z');
    await ledger.close();
    rewriteAllSegments(dir, (lines) => lines.filter((l) => !l.includes('"kind":"checkpoint"')));
    const r = await verifyLedger(dir, dataDirPublicKey(dir));
    assert.equal(r.ok, false);
    assert.match(r.problem?.message ?? '', /no signed checkpoint|cut off/);
  });

  it('prunes nothing when nothing is older than T', async () => {
    const { ledger } = await dailyLedger(2);
    assert.deepEqual(await ledger.prune('2025-01-01'), { removed: 0, lastSeq: 0, checkpoint: null });
    await ledger.close();
  });
});

describe('ledger replay and queries', () => {
  it('pairs each decision with its settle, and gives null for a call that never settled', async () => {
    const dir = tempDir();
    let ledger = await Ledger.open(dir);
    const a = ledger.append(decision(1)).record;
    const b = ledger.append(decision(2)).record; // the crash came mid-call: no settle
    ledger.append(settle(a.id, 0.02));
    await ledger.close();
    ledger = await Ledger.open(dir);
    const items = [];
    for await (const item of ledger.replay('2000-01-01')) items.push(item);
    assert.deepEqual(items.map((i) => [i.decision.id, i.settle?.usd ?? null]).sort(), [[a.id, 0.02], [b.id, null]].sort());
    assert.equal(await ledger.isSettled(a.id), true);
    assert.equal(await ledger.isSettled(b.id), false);
    await ledger.close();
  });

  it('sums spend to the nano-dollar, without float noise', async () => {
    const ledger = await Ledger.open(tempDir());
    // 0.1 + 0.2 is 0.30000000000000004 in binary floating point; amounts are kept to 1e-9.
    for (const [n, usd] of [[1, 0.1], [2, 0.2], [4, 0.0015486]] as const) {
      const d = ledger.append(decision(n, { identity: { user: 'ana@acme.dev', agent: 'default', session: 's', roles: [] } })).record;
      ledger.append(settle(d.id, usd));
    }
    await ledger.append(decision(5)).durable;
    const row = (await ledger.spendBy('user')).find((r) => r.key === 'ana@acme.dev');
    assert.equal(row?.usd, 0.3015486);
    await ledger.close();
  });

  it('answers spend by user, agent, model and day from the index, across restarts', async () => {
    const { dir, ledger } = await dailyLedger(4);
    await ledger.close();
    // Restart from the snapshot plus a tail appended after it.
    const l2 = await Ledger.open(dir, { clock: () => T0 + 10 * DAY });
    await l2.append(decision(3)).durable;
    const byDay = await l2.spendBy('day');
    assert.deepEqual(byDay.map((r) => r.key), ['2026-01-01', '2026-01-02', '2026-01-03', '2026-01-04', '2026-01-11']);
    // Day 1's call settled at 0.01; day 2's never settled and counts at its reserved 0.001.
    assert.equal(byDay[0].usd, 0.01);
    assert.equal(byDay[1].usd, 0.001);
    assert.equal((await l2.spendBy('user')).reduce((n, r) => n + r.requests, 0), 5);
    assert.ok((await l2.spendBy('agent')).every((r) => r.key.includes('/')));
    assert.equal((await l2.spendBy('model'))[0].key, 'gpt-4o-mini');
    assert.equal((await l2.recentDecisions(2))[0].seq, 9);
    await l2.close();
    // Without the snapshot the index is rebuilt from the journal and answers the same.
    const { rmSync } = await import('node:fs');
    rmSync(`${dir}/ledger/index.sqlite`);
    const l3 = await Ledger.open(dir);
    assert.deepEqual(await l3.spendBy('day'), byDay);
    await l3.close();
  });
});
