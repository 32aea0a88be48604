import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WitnessKeeper } from '../../../src/extension/core/witness-keeper';
import { Ledger } from '../../../src/store/ledger/ledger';
import { decision } from '../ledger/fixtures';

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Writes `n` records as the proxy would. */
async function grow(dataDir: string, n: number): Promise<void> {
  const ledger = await Ledger.open(dataDir);
  for (let i = 0; i < n; i++) await ledger.append(decision(i)).durable;
  await ledger.close();
}

function keeperWithLog(): { keeper: WitnessKeeper; warnings: string[]; storage: string } {
  const warnings: string[] = [];
  const storage = tempDir('tollgate-global-storage-');
  return { keeper: new WitnessKeeper(storage, { info: () => undefined, warn: (m) => warnings.push(m) }), warnings, storage };
}

describe('witness of the proxy\'s ledger in the editor (WitnessKeeper)', () => {
  it('witnesses the head as the ledger grows, in global storage, and never goes back to an older one', async () => {
    const dataDir = tempDir('tollgate-data-');
    const { keeper, storage } = keeperWithLog();
    assert.deepEqual(await keeper.check(dataDir), { state: 'none' });
    await grow(dataDir, 3);
    const first = await keeper.record(dataDir);
    assert.equal(first?.seq, 3);
    assert.ok(keeper.fileFor(dataDir).startsWith(storage));
    assert.equal(fs.statSync(keeper.fileFor(dataDir)).mode & 0o777, 0o600);
    assert.equal(await keeper.record(dataDir), null, 'nothing new to witness');
    await grow(dataDir, 2);
    assert.equal((await keeper.record(dataDir))?.seq, 5);
    assert.deepEqual(await keeper.check(dataDir), { state: 'extends', seq: 5 });

    // Another window on the same data dir witnesses further; a rollback behind this window's back
    // (after its check at start) never makes it store an older head over the newer one.
    const older = tempDir('tollgate-data-copy-');
    fs.cpSync(dataDir, older, { recursive: true });
    await grow(dataDir, 1);
    const other = new WitnessKeeper(storage, { info: () => undefined, warn: () => undefined });
    assert.equal((await other.record(dataDir))?.seq, 6);
    fs.rmSync(dataDir, { recursive: true });
    fs.cpSync(older, dataDir, { recursive: true });
    assert.equal(await keeper.record(dataDir), null);
    assert.equal(JSON.parse(fs.readFileSync(keeper.fileFor(dataDir), 'utf8')).seq, 6);
  });

  it('warns when the ledger was rolled back (an older copy restored), keeps the witness as evidence, and replaces it only when accepted', async () => {
    const dataDir = tempDir('tollgate-data-');
    const { keeper, warnings } = keeperWithLog();
    await grow(dataDir, 2);
    const copy = tempDir('tollgate-data-copy-');
    fs.cpSync(dataDir, copy, { recursive: true });
    await grow(dataDir, 3);
    await keeper.check(dataDir);
    await keeper.record(dataDir);
    const evidence = fs.readFileSync(keeper.fileFor(dataDir), 'utf8');

    fs.rmSync(dataDir, { recursive: true });
    fs.cpSync(copy, dataDir, { recursive: true });
    const restarted = new WitnessKeeper(path.dirname(path.dirname(keeper.fileFor(dataDir))), { info: () => undefined, warn: (m) => warnings.push(m) });
    const result = await restarted.check(dataDir);
    assert.equal(result.state, 'broken');
    assert.match(result.state === 'broken' ? result.message : '', new RegExp(`the audit ledger in ${dataDir} does not extend the head this editor witnessed \\(seq 5, ledger [0-9a-f]{32}, kept in .*\\): the ledger's signed head is at seq 2, before the witnessed seq 5`));
    assert.equal(warnings.length, 1, 'the rollback is logged');

    await grow(dataDir, 1);
    assert.equal(await restarted.record(dataDir), null, 'the rolled-back ledger does not overwrite the witness');
    assert.equal(fs.readFileSync(restarted.fileFor(dataDir), 'utf8'), evidence);

    const aside = await restarted.accept(dataDir);
    assert.ok(aside && fs.readFileSync(aside, 'utf8') === evidence, 'the old witness is kept aside');
    assert.deepEqual(await restarted.check(dataDir), { state: 'extends', seq: 3 });
  });

  it('warns when the ledger was deleted and created afresh, or is gone', async () => {
    const dataDir = tempDir('tollgate-data-');
    const { keeper } = keeperWithLog();
    await grow(dataDir, 2);
    await keeper.record(dataDir);
    fs.rmSync(path.join(dataDir, 'ledger'), { recursive: true });
    const gone = await keeper.check(dataDir);
    assert.match(gone.state === 'broken' ? gone.message : '', /no ledger in .* any more/);
    await grow(dataDir, 4);
    const recreated = await keeper.check(dataDir);
    assert.match(recreated.state === 'broken' ? recreated.message : '', /it names ledger [0-9a-f]{32}, but the data dir holds ledger [0-9a-f]{32}/);
  });

  it('treats an unreadable witness as tampering', async () => {
    const dataDir = tempDir('tollgate-data-');
    const { keeper } = keeperWithLog();
    await grow(dataDir, 1);
    fs.mkdirSync(path.dirname(keeper.fileFor(dataDir)), { recursive: true });
    fs.writeFileSync(keeper.fileFor(dataDir), '{"seq": 1');
    const r = await keeper.check(dataDir);
    assert.match(r.state === 'broken' ? r.message : '', /is unreadable .*tampered/);
    assert.equal(await keeper.record(dataDir), null);
  });
});
