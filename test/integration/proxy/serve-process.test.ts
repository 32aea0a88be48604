import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isLoopback } from '../../../src/proxy/bind';
import { MockUpstream } from '../../helpers/mock-upstream';
import { runTollgate } from '../../helpers/cli';
import { editsThatOnceKilledTheProxy, positionOf, referencePath, referenceText } from '../../helpers/policy';
import { eventually } from '../../helpers/poll';
import { CLI, startServe } from '../../helpers/serve-process';

function tokenFor(dataDir: string, user: string, agent = 'default'): string {
  return execFileSync(process.execPath, [CLI, 'token', '--user', user, '--agent', agent, '--data-dir', dataDir], { encoding: 'utf8' }).trim();
}

function chat(url: string, token: string, body: Record<string, unknown> = {}): Promise<Response> {
  return fetch(`${url}/openai/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], max_tokens: 50, ...body }),
  });
}

function exportRecords(dataDir: string): Record<string, unknown>[] {
  const out = execFileSync(process.execPath, [CLI, 'audit', 'export', '--format', 'jsonl', '--data-dir', dataDir], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('tollgate serve as a process', function () {
  this.timeout(60_000);
  let mock: MockUpstream;
  let upstream: string;
  let dataDir: string;
  before(async () => {
    mock = new MockUpstream();
    upstream = await mock.start();
  });
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-serve-'));
  });
  after(() => mock.stop());

  it('binds loopback by default, prints its address and stops cleanly on SIGTERM after draining', async () => {
    const s = await startServe(['--data-dir', dataDir, '--upstream', `openai=${upstream}`]);
    assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    mock.next.push({ kind: 'stream', chunks: 10, intervalMs: 50 });
    const inflight = chat(s.url, tokenFor(dataDir, 'bob@acme.dev'), { stream: true });
    const response = await inflight;
    s.child.kill('SIGTERM');
    const body = await response.text();
    assert.match(body, /\[DONE\]/, 'the call in flight finished before the proxy stopped');
    assert.equal(await s.exited, 0);
    assert.match(s.stderr(), /SIGTERM: draining/);
    const verify = execFileSync(process.execPath, [CLI, 'audit', 'verify', '--data-dir', dataDir], { encoding: 'utf8' });
    assert.match(verify, /^ok/);
  });

  it('knows which addresses are loopback, so only an explicit --host binds elsewhere (with a warning)', () => {
    for (const h of ['127.0.0.1', '127.8.9.1', '::1', 'localhost']) assert.ok(isLoopback(h), h);
    for (const h of ['0.0.0.0', '::', '192.168.1.10', 'example.com']) assert.ok(!isLoopback(h), h);
  });

  it('refuses an --upstream naming a provider the policy lacks, and a policy with errors', () => {
    const bad = (args: string[]): { status: number | null; stderr: string } => {
      try {
        execFileSync(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', dataDir, ...args], { encoding: 'utf8', stdio: 'pipe' });
        return { status: 0, stderr: '' };
      } catch (e) {
        const err = e as { status: number | null; stderr: string };
        return { status: err.status, stderr: err.stderr };
      }
    };
    const r = bad(['--upstream', 'mistral=http://127.0.0.1:1']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--upstream names 'mistral'/);
    const file = path.join(dataDir, 'broken.yaml');
    fs.writeFileSync(file, referenceText.replace('rate: 60/min', 'rate: 60/fortnight'));
    const p = bad(['--policy', file]);
    assert.equal(p.status, 1);
    assert.match(p.stderr, /broken\.yaml:\d+:\d+: invalid rate/);
  });

  it('refuses to start on an issuer key that policy check refuses, with the same FILE:LINE:COL error', async () => {
    const file = path.join(dataDir, 'idp.yaml');
    const edit = editsThatOnceKilledTheProxy()[1]!;
    fs.writeFileSync(file, edit.text);
    const check = await runTollgate(['policy', 'check', file]);
    assert.equal(check.code, 1);
    const serve = await runTollgate(['serve', '--port', '0', '--data-dir', dataDir, '--policy', file]);
    assert.equal(serve.code, 1);
    const where = positionOf(edit.text, edit.at);
    assert.match(check.stdout, new RegExp(`^${file}:${where.line}:${where.column}: `));
    assert.ok(serve.stderr.includes(check.stdout.trim()), serve.stderr);
  });

  it('keeps serving on the last good bundle through each edit that once killed the process', async () => {
    const file = path.join(dataDir, 'tollgate.yaml');
    fs.writeFileSync(file, referenceText);
    const s = await startServe(['--data-dir', dataDir, '--upstream', `openai=${upstream}`, '--policy', file]);
    try {
      const token = tokenFor(dataDir, 'bob@acme.dev');
      for (const edit of editsThatOnceKilledTheProxy()) {
        fs.writeFileSync(file, edit.text);
        const where = positionOf(edit.text, edit.at);
        await eventually(() => s.stderr().includes(`${file}:${where.line}:${where.column}: `), `${edit.name} to be rejected`, 15_000);
        assert.equal((await chat(s.url, token)).status, 200, `${edit.name}: still serving`);
        assert.equal(s.child.exitCode, null);
      }
      fs.writeFileSync(file, referenceText.replace('name: acme-ai-gateway', 'name: edited'));
      await eventually(() => /policy 'edited' \(\w+\) loaded/.test(s.stderr()), 'a good edit to load after the bad ones', 15_000);
    } finally {
      s.child.kill('SIGTERM');
      assert.equal(await s.exited, 0, s.stderr());
    }
  });

  it('restores spend and windows from the ledger after a restart', async () => {
    const args = ['--data-dir', dataDir, '--upstream', `openai=${upstream}`, '--policy', referencePath];
    const a = await startServe(args);
    const token = tokenFor(dataDir, 'bob@acme.dev');
    for (let i = 0; i < 10; i++) assert.equal((await chat(a.url, token)).status, 200);
    for (let i = 0; i < 5; i++) assert.equal((await chat(a.url, token, { messages: [{ role: 'user', content: 'write to jo@acme.dev' }] })).status, 200);
    const adminToken = fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
    const stateOf = async (url: string): Promise<{ rule: string; used: number }[]> =>
      ((await (await fetch(`${url}/_tollgate/state`, { headers: { authorization: `Bearer ${adminToken}` } })).json()) as { accumulators: { rule: string; used: number }[] }).accumulators;
    const before = await stateOf(a.url);
    a.child.kill('SIGTERM');
    assert.equal(await a.exited, 0);

    const b = await startServe(args);
    try {
      // pii-flow admits 5 PII requests per sliding minute; 5 were made before the restart. A
      // minute is far longer than any restart, so this holds however slow the machine is.
      const pii = { messages: [{ role: 'user', content: 'write to jo@acme.dev' }] };
      const sixth = await chat(b.url, token, pii);
      assert.equal(sixth.status, 429, 'the window survived the restart');
      assert.equal(sixth.headers.get('x-tollgate-rule'), 'pii-flow');
      const after = await stateOf(b.url);
      const tokensBefore = before.find((x) => x.rule === 'user-tokens')!.used;
      assert.ok(after.find((x) => x.rule === 'user-tokens')!.used >= tokensBefore, 'the token window survived the restart');
      assert.ok(after.find((x) => x.rule === 'user-daily')!.used >= before.find((x) => x.rule === 'user-daily')!.used, 'the daily spend survived the restart');
    } finally {
      b.child.kill('SIGTERM');
      await b.exited;
    }
  });

  it('loses no acknowledged record and no spend when killed with SIGKILL under load', async () => {
    const args = ['--data-dir', dataDir, '--upstream', `openai=${upstream}`];
    const a = await startServe(args);
    const tokens = Array.from({ length: 8 }, (_, i) => tokenFor(dataDir, `user${i}@acme.dev`, 'batch-eval'));
    const acknowledged: string[] = [];
    let stop = false;
    const worker = async (token: string): Promise<void> => {
      for (let i = 0; i < 400 && !stop; i++) {
        try {
          const r = await chat(a.url, token);
          const id = r.headers.get('x-tollgate-decision');
          if (id) acknowledged.push(id);
          await r.arrayBuffer();
        } catch {
          return; // the proxy died under us
        }
      }
    };
    const workers = tokens.map((t) => worker(t));
    while (acknowledged.length < 150) await new Promise((r) => setTimeout(r, 10));
    a.child.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);
    await a.exited;

    const b = await startServe(args);
    b.child.kill('SIGTERM');
    assert.equal(await b.exited, 0, b.stderr());
    const records = exportRecords(dataDir);
    const ids = new Set(records.map((r) => r.id as string));
    const missing = acknowledged.filter((id) => !ids.has(id));
    assert.deepEqual(missing, [], `${missing.length} of ${acknowledged.length} acknowledged decisions missing after the crash`);
    const verify = execFileSync(process.execPath, [CLI, 'audit', 'verify', '--data-dir', dataDir], { encoding: 'utf8' });
    assert.match(verify, /^ok/);
    // Every admitted decision is either settled or counted at its reserved worst case on restart.
    const settled = new Set(records.filter((r) => r.kind === 'settle').map((r) => r.decision as string));
    const admitted = records.filter((r) => r.kind === 'decision' && r.outcome === 'allow');
    assert.ok(admitted.length >= 150);
    assert.ok(admitted.some((r) => settled.has(r.id as string)));
  });
});
