import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { headBytes, readHead } from '../../../src/store/ledger/head';
import { Ledger } from '../../../src/store/ledger/ledger';
import { ledgerPaths } from '../../../src/store/ledger/segments';
import { dataDirPublicKey, Signer } from '../../../src/store/ledger/signer';
import { verifyLedger } from '../../../src/store/ledger/verify';
import type { Witness } from '../../../src/store/ledger/witness';
import { checkExtends, parseWitness, readCheckpoint } from '../../../src/store/ledger/witness';
import { decision, settle, steppingClock, tempDir } from './fixtures';
import { signEveryRecord } from './tamper';

async function grow(dir: string, calls: number, clock = steppingClock()): Promise<void> {
  const ledger = await Ledger.open(dir, { clock });
  for (let i = 0; i < calls; i++) {
    const { record } = ledger.append(decision(i));
    await ledger.append(settle(record.id)).durable;
  }
  await ledger.close();
}

function copyDir(from: string): string {
  const to = tempDir();
  fs.cpSync(from, to, { recursive: true });
  return to;
}

describe('ledger witnesses', () => {
  it('gives every ledger an identity in its genesis head, kept by every head after it', async () => {
    const dir = tempDir();
    await grow(dir, 0);
    const genesis = readCheckpoint(dir);
    assert.equal(genesis.seq, 0);
    assert.match(genesis.ledger ?? '', /^[0-9a-f]{32}$/);
    await grow(dir, 2);
    const later = readCheckpoint(dir);
    assert.equal(later.seq, 4);
    assert.equal(later.ledger, genesis.ledger);
    const other = tempDir();
    await grow(other, 0);
    assert.notEqual(readCheckpoint(other).ledger, genesis.ledger, 'a ledger created afresh is another ledger');
  });

  it('gives a ledger from before identities one when it opens, and verify still holds', async () => {
    const dir = tempDir();
    await grow(dir, 2);
    // A ledger as written before identities: every record signed on its own, and a head with
    // the same fields, signed without an identity.
    const signer = Signer.loadOrCreate(dir);
    signEveryRecord(dir, signer);
    const head = readHead(ledgerPaths(dir).head, signer.publicKey).head!;
    const state = { seq: head.seq, hash: head.hash, time: head.time };
    const slot = Buffer.alloc(512, 0x20);
    slot.write(JSON.stringify({ ...state, sig: signer.sign(headBytes(state, null)) }));
    slot[511] = 10;
    fs.writeFileSync(ledgerPaths(dir).head, Buffer.concat([slot, slot]));
    assert.equal(readHead(ledgerPaths(dir).head, signer.publicKey).head?.ledger, null);
    assert.equal((await verifyLedger(dir, signer.publicKey)).ok, true, 'an old head still verifies');

    await grow(dir, 0);
    assert.match(readCheckpoint(dir).ledger ?? '', /^[0-9a-f]{32}$/);
    assert.equal((await verifyLedger(dir, signer.publicKey)).ok, true);
  });

  it('a ledger extends a witness as it grows; the check reads only from the witnessed record on', async () => {
    const dir = tempDir();
    await grow(dir, 3);
    const w = readCheckpoint(dir);
    assert.deepEqual(await checkExtends(dir, w), { ok: true, note: null });
    await grow(dir, 2);
    assert.deepEqual(await checkExtends(dir, w), { ok: true, note: null });
    assert.deepEqual(parseWitness(JSON.stringify(w), 'w.json'), w);
    assert.throws(() => parseWitness('{"seq":1}', 'w.json'), /w\.json is not a ledger witness/);
  });

  it('a ledger does not extend a witness after a rollback, a re-creation or a fork, and says which', async () => {
    const dir = tempDir();
    await grow(dir, 2);
    const before = copyDir(dir);
    await grow(dir, 2);
    const w = readCheckpoint(dir);

    const rolledBack = await checkExtends(before, w);
    assert.equal(rolledBack.ok, false);
    assert.match(rolledBack.ok ? '' : rolledBack.problem, /signed head is at seq 4, before the witnessed seq 8: records 5\.\.8 are gone/);

    const recreated = copyDir(dir);
    fs.rmSync(path.join(recreated, 'ledger'), { recursive: true });
    await grow(recreated, 5);
    const r = await checkExtends(recreated, w);
    assert.match(r.ok ? '' : r.problem, /it names ledger [0-9a-f]{32}, but the data dir holds ledger [0-9a-f]{32}: the ledger was deleted and created afresh/);

    // The same ledger and key, forked before the witnessed record: only the witnessed hash shows it.
    const forked = copyDir(before);
    await grow(forked, 3, steppingClock(Date.parse('2027-01-01T00:00:00Z')));
    const f = await checkExtends(forked, w);
    assert.match(f.ok ? '' : f.problem, /record seq 8 has hash [0-9a-f]{16}\.\.\., but the witness names [0-9a-f]{16}\.\.\.: the ledger was rewritten/);

    const gone = tempDir();
    const g = await checkExtends(gone, w, dataDirPublicKey(dir));
    assert.match(g.ok ? '' : g.problem, /there is no ledger in .* any more/);
  });

  it('refuses a witness that was edited or comes from another key', async () => {
    const dir = tempDir();
    await grow(dir, 2);
    const w = readCheckpoint(dir);
    const edited: Witness = { ...w, seq: w.seq - 1 };
    const e = await checkExtends(dir, edited);
    assert.match(e.ok ? '' : e.problem, /its signature does not hold/);
    const other = tempDir();
    await grow(other, 2);
    const o = await checkExtends(dir, readCheckpoint(other));
    assert.match(o.ok ? '' : o.problem, /signed by key sha256:[0-9a-f]{64}, but this ledger's key is sha256:[0-9a-f]{64}/);
  });

  it('a witnessed record pruned since still counts, through the checkpoint that stands for it', async () => {
    const dir = tempDir();
    const clock = steppingClock(Date.parse('2026-01-01T00:00:00Z'), 3_600_000);
    await grow(dir, 3, clock);
    const atSix = readCheckpoint(dir);
    const ledger = await Ledger.open(dir, { clock });
    for (let i = 0; i < 3; i++) await ledger.append(decision(10 + i)).durable;
    const pruned = await ledger.prune('2026-01-01T05:30:00Z'); // seqs 1..6
    await ledger.close();
    assert.equal(pruned.lastSeq, 6);
    assert.deepEqual(await checkExtends(dir, atSix), { ok: true, note: null }, 'the first record kept links to the witnessed one');
    await grow(dir, 1, clock);
    const r = await verifyLedger(dir, dataDirPublicKey(dir), { witnessSeqs: [6, 3] });
    assert.equal(r.ok, true, r.problem?.message);
    assert.equal(r.hashAt(6), atSix.hash);
    assert.equal(r.hashAt(3), 'pruned');
  });
});
