import assert from 'node:assert/strict';
import { Ledger } from '../../../src/store/ledger/ledger';
import { runTollgate } from '../../helpers/cli';
import { decision, settle, steppingClock, tempDir } from './fixtures';
import { readJournalLines, writeJournalLines } from './tamper';

// Team mode: every proxy keeps its own signed ledger; `audit verify` checks each chain and
// `audit export` merges them into one stream ordered by time.

const T0 = Date.parse('2026-03-01T00:00:00Z');

async function ledgerWith(startMs: number, stepMs: number, count: number, agent: string): Promise<string> {
  const dir = tempDir();
  const ledger = await Ledger.open(dir, { clock: steppingClock(startMs, stepMs) });
  const durable: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const { record } = ledger.append(decision(i, { identity: { user: 'a@acme.dev', agent, session: 's', roles: [] } }));
    durable.push(ledger.append(settle(record.id)).durable);
  }
  await Promise.all(durable);
  await ledger.close();
  return dir;
}

describe('tollgate audit with several data dirs (team mode)', () => {
  it('exports several proxies\' ledgers merged by time, each record once, in jsonl and csv', async () => {
    // Proxy A writes every 3 s from T0, proxy B every 2 s from T0 + 1 s: their records interleave.
    const a = await ledgerWith(T0, 3000, 5, 'proxy-a');
    const b = await ledgerWith(T0 + 1000, 2000, 6, 'proxy-b');
    const out = await runTollgate(['audit', 'export', '--format', 'jsonl', '--data-dir', a, '--data-dir', b]);
    assert.equal(out.code, 0, out.stderr);
    const records = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; time: string; kind: string; identity?: { agent: string } });
    assert.equal(records.length, 2 * 5 + 2 * 6);
    assert.equal(new Set(records.map((r) => r.id)).size, records.length);
    for (let i = 1; i < records.length; i++) {
      const [p, q] = [records[i - 1]!, records[i]!];
      assert.ok(p.time < q.time || (p.time === q.time && p.id < q.id), `${p.time} ${p.id} before ${q.time} ${q.id}`);
    }
    const agents = records.filter((r) => r.kind === 'decision').map((r) => r.identity!.agent);
    // Decisions tick the clock twice (decision, settle): A at 0, 6, 12 s..., B at 1, 5, 9 s...
    assert.deepEqual(agents.slice(0, 5), ['proxy-a', 'proxy-b', 'proxy-b', 'proxy-a', 'proxy-b'], 'interleaved by time, not concatenated');
    const csv = await runTollgate(['audit', 'export', '--format', 'csv', '--since', '2026-03-01T00:00:05Z', '--data-dir', a, '--data-dir', b]);
    assert.equal(csv.code, 0, csv.stderr);
    const rows = csv.stdout.trim().split('\r\n').slice(1);
    assert.ok(rows.length > 0 && rows.length < records.length, `${rows.length} rows after --since`);
    assert.ok(rows.every((r) => r.split(',')[2]! >= '2026-03-01T00:00:05'));
  });

  it('verifies each data dir\'s chain and names the one that was tampered with', async () => {
    const a = await ledgerWith(T0, 1000, 3, 'proxy-a');
    const b = await ledgerWith(T0, 1000, 3, 'proxy-b');
    const ok = await runTollgate(['audit', 'verify', '--data-dir', a, '--data-dir', b]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal(ok.stdout.trim().split('\n').filter((l) => l.startsWith('ok ')).length, 2);
    const lines = readJournalLines(b);
    writeJournalLines(b, lines.map((l, i) => (i === 2 ? l.replace('"proxy-b"', '"proxy-x"') : l)));
    const bad = await runTollgate(['audit', 'verify', '--data-dir', a, '--data-dir', b]);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, new RegExp(`^ok ${a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:`, 'm'));
    assert.match(bad.stdout, new RegExp(`^FAILED ${b.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: first bad record seq 3`, 'm'));
  });
});
