import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ledgerPaths, listSegments } from '../../../src/store/ledger/segments';
import { recordBytes, sha256Hex } from '../../../src/store/ledger/signer';
import { MockUpstream } from '../../helpers/mock-upstream';
import { referencePath } from '../../helpers/policy';
import { CLI, serveRefusal, startServe } from '../../helpers/serve-process';
import type { ServeProcess } from '../../helpers/serve-process';

// The proxy rebuilds every budget and window from its ledger when it starts, so what it replays
// must be what it wrote: an edited journal stops the start, and lines after the signed head are
// cut off rather than adopted.

function tokenFor(dataDir: string, user: string): string {
  return execFileSync(process.execPath, [CLI, 'token', '--user', user, '--data-dir', dataDir], { encoding: 'utf8' }).trim();
}

function chat(url: string, token: string): Promise<Response> {
  return fetch(`${url}/openai/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], max_tokens: 50 }),
  });
}

async function stop(s: ServeProcess): Promise<void> {
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0, s.stderr());
}

function journalLines(dataDir: string): { file: string; lines: string[] } {
  const file = listSegments(ledgerPaths(dataDir).journal).at(-1)!.file;
  return { file, lines: fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) };
}

describe('tollgate serve trusts only a ledger that verifies', function () {
  this.timeout(60_000);
  let mock: MockUpstream;
  let upstream: string;
  let dataDir: string;
  let args: string[];
  before(async () => {
    mock = new MockUpstream();
    upstream = await mock.start();
  });
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-trust-'));
    args = ['--data-dir', dataDir, '--upstream', `openai=${upstream}`, '--policy', referencePath];
  });
  after(() => mock.stop());

  it('refuses to start when a settle record was edited while it was stopped, naming the record and how to inspect it', async () => {
    const a = await startServe(args);
    const token = tokenFor(dataDir, 'bob@acme.dev');
    // One call reports 600,000 output tokens: past user-tokens (200,000 an hour), so the next is refused.
    mock.next.push({
      kind: 'status', status: 200,
      body: { id: 'chatcmpl-big', object: 'chat.completion', created: 0, model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'long' }, finish_reason: 'stop' }], usage: { prompt_tokens: 11, completion_tokens: 600_000, total_tokens: 600_011 } },
    });
    assert.equal((await chat(a.url, token)).status, 200);
    const refused = await chat(a.url, token);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('x-tollgate-rule'), 'user-tokens');
    await stop(a);

    const { file, lines } = journalLines(dataDir);
    const at = lines.findIndex((l) => l.includes('"output_tokens":600000'));
    assert.ok(at >= 0, 'the settle record holds the reported usage');
    const edited = JSON.parse(lines[at]!) as { id: string; seq: number };
    lines[at] = lines[at]!.replace('"output_tokens":600000', '"output_tokens":5');
    fs.writeFileSync(file, lines.map((l) => `${l}\n`).join(''));

    const r = await serveRefusal(args);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`first bad record seq ${edited.seq} \\(id ${edited.id}\\) at ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${at + 1}: .*edited`));
    assert.match(r.stderr, new RegExp(`tollgate audit verify --data-dir ${dataDir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
  });

  it('cuts off and reports an unsigned line appended after the signed head, and never adopts it', async () => {
    const a = await startServe(args);
    const token = tokenFor(dataDir, 'bob@acme.dev');
    assert.equal((await chat(a.url, token)).status, 200);
    await stop(a);

    const { file, lines } = journalLines(dataDir);
    const last = JSON.parse(lines.at(-1)!) as { id: string; seq: number; time: string; hash: string };
    const forged: Record<string, unknown> = { id: '7ZZZZZZZZZZZZZZZZZZZZZZZZZ', seq: last.seq + 1, time: last.time, kind: 'settle', decision: last.id, usage: { input_tokens: 0, output_tokens: 0 }, usd: 0, status: 200, aborted: false, prev: last.hash };
    forged.hash = sha256Hex(recordBytes(forged));
    fs.appendFileSync(file, `${JSON.stringify(forged)}\n`);

    const b = await startServe(args);
    try {
      assert.match(b.stderr(), new RegExp(`ledger: cut off 1 line after the signed head \\(seq ${last.seq}\\).*unsigned`));
      assert.equal((await chat(b.url, token)).status, 200);
    } finally {
      await stop(b);
    }
    const exported = execFileSync(process.execPath, [CLI, 'audit', 'export', '--format', 'jsonl', '--data-dir', dataDir], { encoding: 'utf8' });
    assert.ok(!exported.includes('7ZZZZZZZZZZZZZZZZZZZZZZZZZ'), 'the appended line is not in the ledger');
    assert.match(execFileSync(process.execPath, [CLI, 'audit', 'verify', '--data-dir', dataDir], { encoding: 'utf8' }), /^ok /);
  });
});
