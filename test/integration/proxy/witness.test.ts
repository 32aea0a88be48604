import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ledgerPaths, listSegments } from '../../../src/store/ledger/segments';
import { MockUpstream } from '../../helpers/mock-upstream';
import { runTollgate } from '../../helpers/cli';
import { startServe } from '../../helpers/serve-process';

// Rollback protection, end to end with the built command line: `audit checkpoint` prints the signed
// head, kept outside the data dir, and `audit verify --witness` fails on each way of rolling the
// ledger back that the data dir alone cannot show (each passes plain `audit verify`).

// The command line run in this process (runCli, what dist/cli.js runs), sparing a Node start per check.
const cli = runTollgate;

function copyDir(from: string): string {
  const to = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-witness-copy-'));
  fs.cpSync(from, to, { recursive: true });
  return to;
}

function journal(dataDir: string): { file: string; lines: string[] } {
  const file = listSegments(ledgerPaths(dataDir).journal).at(-1)!.file;
  return { file, lines: fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) };
}

/** Keeps the journal's records up to `seq`. */
function cutJournalAfter(dataDir: string, seq: number): void {
  const { file, lines } = journal(dataDir);
  fs.writeFileSync(file, lines.filter((l) => (JSON.parse(l) as { seq: number }).seq <= seq).map((l) => `${l}\n`).join(''));
}

/** The head file's two 512-byte slots, as their seqs. */
function headSlots(dataDir: string): number[] {
  const data = fs.readFileSync(ledgerPaths(dataDir).head);
  return [0, 1].map((slot) => (JSON.parse(data.toString('utf8', slot * 512, (slot + 1) * 512)) as { seq: number }).seq);
}

describe('ledger witnesses (audit checkpoint, audit verify --witness)', function () {
  this.timeout(120_000);
  let mock: MockUpstream;
  let upstream: string;
  let dataDir: string;
  let older: string; // a copy of the data dir from before the witness was taken
  let witnessFile: string;
  let witnessed: { seq: number; ledger: string };

  async function serveCalls(dir: string, calls: number): Promise<void> {
    const s = await startServe(['--data-dir', dir, '--upstream', `openai=${upstream}`]);
    const token = (await cli(['token', '--user', 'bob@acme.dev', '--data-dir', dir])).stdout.trim();
    for (let i = 0; i < calls; i++) {
      const r = await fetch(`${s.url}/openai/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], max_tokens: 20 }),
      });
      assert.equal(r.status, 200);
    }
    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 0, s.stderr());
  }

  before(async () => {
    mock = new MockUpstream();
    upstream = await mock.start();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-witness-'));
    await serveCalls(dataDir, 2);
    older = copyDir(dataDir);
    await serveCalls(dataDir, 2);
    const out = await cli(['audit', 'checkpoint', '--data-dir', dataDir]);
    assert.equal(out.code, 0, out.stderr);
    witnessFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-witness-kept-')), 'head.json');
    fs.writeFileSync(witnessFile, out.stdout);
    witnessed = JSON.parse(out.stdout) as { seq: number; ledger: string };
  });
  after(() => mock.stop());

  it('checkpoint prints the signed head with its ledger identity and key, and the ledger extends it as it grows', async () => {
    const w = JSON.parse(fs.readFileSync(witnessFile, 'utf8')) as Record<string, unknown>;
    assert.equal(w.format, 'tollgate-ledger-witness/1');
    assert.match(String(w.ledger), /^[0-9a-f]{32}$/);
    assert.match(String(w.key_id), /^sha256:[0-9a-f]{64}$/);
    assert.match(String(w.public_key), /BEGIN PUBLIC KEY/);
    assert.ok(typeof w.sig === 'string' && typeof w.hash === 'string' && witnessed.seq >= 6);
    const grown = copyDir(dataDir);
    await serveCalls(grown, 1);
    const r = await cli(['audit', 'verify', '--data-dir', grown, '--witness', witnessFile]);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, new RegExp(`ok .*: extends witness ${witnessFile} \\(seq ${witnessed.seq}, ledger ${witnessed.ledger}\\)`));
  });

  it('(a) fails when the newer head slot is zeroed and the journal cut back to the older slot\'s head', async () => {
    const dir = copyDir(dataDir);
    const slots = headSlots(dir);
    const newer = slots[0]! > slots[1]! ? 0 : 1;
    const olderSeq = slots[1 - newer]!;
    assert.ok(olderSeq < witnessed.seq);
    const head = fs.readFileSync(ledgerPaths(dir).head);
    head.fill(0, newer * 512, (newer + 1) * 512);
    fs.writeFileSync(ledgerPaths(dir).head, head);
    cutJournalAfter(dir, olderSeq);
    assert.equal((await cli(['audit', 'verify', '--data-dir', dir])).code, 0, 'the data dir alone cannot show this rollback');
    const r = await cli(['audit', 'verify', '--data-dir', dir, '--witness', witnessFile]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`FAILED .*: does not extend witness ${witnessFile} \\(seq ${witnessed.seq}, ledger ${witnessed.ledger}\\): the ledger's signed head is at seq ${olderSeq}, before the witnessed seq ${witnessed.seq}`));
  });

  it('(b) fails when <data-dir>/ledger was deleted and the proxy started afresh', async () => {
    const dir = copyDir(dataDir);
    fs.rmSync(path.join(dir, 'ledger'), { recursive: true });
    await serveCalls(dir, 3); // the new ledger grows past the witnessed seq, with the same key
    assert.equal((await cli(['audit', 'verify', '--data-dir', dir])).code, 0, 'the data dir alone cannot show this rollback');
    const r = await cli(['audit', 'verify', '--data-dir', dir, '--witness', witnessFile]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`does not extend witness ${witnessFile} .*: it names ledger ${witnessed.ledger}, but the data dir holds ledger [0-9a-f]{32}: the ledger was deleted and created afresh, or replaced`));
  });

  it('(c) fails when an older copy of the data dir is restored', async () => {
    assert.equal((await cli(['audit', 'verify', '--data-dir', older])).code, 0, 'the data dir alone cannot show this rollback');
    const r = await cli(['audit', 'verify', '--data-dir', older, '--witness', witnessFile]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /does not extend witness .*: the ledger's signed head is at seq \d+, before the witnessed seq \d+: records \d+\.\.\d+ are gone/);
  });

  it('(d) fails when the journal\'s tail is cut and an older head put back to match', async () => {
    const dir = copyDir(dataDir);
    const olderHead = JSON.parse((await cli(['audit', 'checkpoint', '--data-dir', older])).stdout) as { seq: number };
    fs.copyFileSync(ledgerPaths(older).head, ledgerPaths(dir).head);
    cutJournalAfter(dir, olderHead.seq);
    assert.equal((await cli(['audit', 'verify', '--data-dir', dir])).code, 0, 'the data dir alone cannot show this rollback');
    const r = await cli(['audit', 'verify', '--data-dir', dir, '--witness', witnessFile]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`before the witnessed seq ${witnessed.seq}`));
  });

  it('fails, naming the witness, when the whole data dir is gone', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-witness-empty-'));
    const r = await cli(['audit', 'verify', '--data-dir', empty, '--witness', witnessFile]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAILED .*: no ledger signing key/);
    assert.match(r.stdout, new RegExp(`FAILED witness ${witnessFile} \\(seq ${witnessed.seq}, ledger ${witnessed.ledger}\\): the data dir has no readable ledger key`));
  });

  it('fails on an edited witness, and on one of another data dir, naming the witness', async () => {
    const w = JSON.parse(fs.readFileSync(witnessFile, 'utf8')) as { seq: number };
    const edited = path.join(path.dirname(witnessFile), 'edited.json');
    fs.writeFileSync(edited, JSON.stringify({ ...w, seq: w.seq - 1 }));
    const r = await cli(['audit', 'verify', '--data-dir', dataDir, '--witness', witnessFile, '--witness', edited]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`ok .*: extends witness ${witnessFile}`));
    assert.match(r.stdout, new RegExp(`FAILED .*: does not extend witness ${edited} .*: its signature does not hold`));
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-witness-other-'));
    await serveCalls(other, 1);
    const o = await cli(['audit', 'verify', '--data-dir', other, '--witness', witnessFile]);
    assert.equal(o.code, 1);
    assert.match(o.stdout, /it was signed by key sha256:[0-9a-f]+, but this ledger's key is sha256:[0-9a-f]+/);
    assert.equal((await cli(['audit', 'verify', '--data-dir', dataDir, '--witness', path.join(other, 'nope.json')])).code, 1);
  });
});
