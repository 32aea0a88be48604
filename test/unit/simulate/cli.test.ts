import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { Ledger } from '../../../src/store/ledger/ledger';
import { ProgressBar } from '../../../src/simulate/progress';
import type { SimulationReport } from '../../../src/simulate/simulate';
import { runTollgate } from '../../helpers/cli';
import { referencePath, referenceText } from '../../helpers/policy';
import { decision, settle, steppingClock, tempDir } from '../ledger/fixtures';

const examplePath = path.join(__dirname, '..', '..', '..', 'examples', 'traffic.jsonl');

function tmpFile(name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-sim-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('tollgate simulate', () => {
  it('replays the shipped example against the reference bundle (JSON report, stable shape)', async () => {
    const r = await runTollgate(['simulate', '--policy', referencePath, '--traffic', examplePath, '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'no progress bar when stderr is not a terminal');
    const report = JSON.parse(r.stdout) as SimulationReport;
    assert.deepEqual(Object.keys(report), ['format', 'traffic', 'policy', 'baseline', 'changes']);
    assert.equal(report.format, 'tollgate-simulate/1');
    assert.deepEqual(Object.keys(report.traffic), ['file', 'requests', 'from', 'to']);
    assert.deepEqual(Object.keys(report.policy), ['policy', 'totals', 'identities', 'suspensions']);
    assert.deepEqual(Object.keys(report.policy.totals), ['requests', 'allowed', 'downgraded', 'refused', 'refused_by_rule', 'usd']);
    assert.deepEqual(Object.keys(report.policy.identities[0]!), [
      'user', 'agents', 'roles', 'requests', 'allowed', 'downgraded', 'refused', 'refused_by_rule', 'first_refusal', 'usd', 'input_tokens', 'output_tokens', 'tools_stripped', 'mcp_calls', 'mcp_refused',
    ]);
    assert.equal(report.baseline, null);
    assert.equal(report.changes, null);
    const byUser = new Map(report.policy.identities.map((i) => [i.user, i]));
    // bob's notebook fires 25 calls 40 ms apart: 20 fit the burst, less than one refills by 0.96 s.
    assert.deepEqual(byUser.get('bob@acme.dev')!.refused_by_rule, { 'agent-burst': 5 });
    assert.equal(byUser.get('bob@acme.dev')!.first_refusal!.time, '2026-11-23T09:00:00.800Z');
    assert.equal(byUser.get('bob@acme.dev')!.first_refusal!.line, 23, 'the refusal names its line of the traffic file');
    assert.deepEqual(byUser.get('bob@acme.dev')!.agents, ['notebook', 'batch-eval']);
    assert.deepEqual(byUser.get('alice@acme.dev')!.refused_by_rule, { entitlements: 1 });
    assert.deepEqual(byUser.get('carol@acme.dev')!.refused_by_rule, { 'pii-flow': 2 });
    assert.equal(report.traffic.requests, 65);
  });

  it('prints a table and, with a baseline, what changes', async () => {
    const proposed = tmpFile('proposed.yaml', referenceText.replace('rate: 60/min\n    burst: 20', 'rate: 60/min\n    burst: 10'));
    const r = await runTollgate(['simulate', '--policy', proposed, '--traffic', examplePath, '--baseline-policy', referencePath]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^identity +requests +allowed +downgraded +refused +cost +first refusal$/m);
    assert.match(r.stdout, /^bob@acme\.dev +55 +40 +0 +15 +\$0\.0680 +2026-11-23T09:00:00\.400Z agent-burst \(line 13\)$/m);
    assert.match(r.stdout, /changes against the baseline:\n {2}bob@acme\.dev: 10 newly refused from 2026-11-23T09:00:00\.400Z \(agent-burst 10\); cost \$0\.1330 -> \$0\.0680$/m, "10 gpt-4o calls of $0.0065 fewer");
  });

  it('names bad traffic lines as FILE:LINE: message and exits 2', async () => {
    const file = tmpFile('bad.jsonl', '{"time":"2026-11-23T09:00:00Z","user":"a@x","provider":"openai","model":"gpt-4o-mini","input_tokens":1}\nnot json\n\n{"time":"2026-11-23T09:00:00Z","user":"a@x","provider":"openai","model":"gpt-4o-mini"}\n');
    const r = await runTollgate(['simulate', '--policy', referencePath, '--traffic', file]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /bad\.jsonl:2: not JSON/);
    assert.match(lines[1]!, /bad\.jsonl:4: give exactly one of "input_tokens" and "messages"/);
  });

  it('exits 2 on bad usage, an unreadable file or an invalid policy', async () => {
    assert.equal((await runTollgate(['simulate', '--traffic', examplePath])).code, 2);
    assert.equal((await runTollgate(['simulate', '--policy', referencePath, '--traffic', examplePath, '--format', 'csv'])).code, 2);
    const missing = await runTollgate(['simulate', '--policy', referencePath, '--traffic', '/nonexistent.jsonl']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read: ENOENT/);
    const bad = tmpFile('bad.yaml', 'version: 1\nname: x\n');
    const invalid = await runTollgate(['simulate', '--policy', bad, '--traffic', examplePath]);
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /bad\.yaml:\d+:\d+: /);
  });
});

describe('simulate progress bar', () => {
  it('draws on a terminal, at most ten times a second, and clears itself', () => {
    const out = new PassThrough();
    let written = '';
    out.on('data', (c: Buffer) => (written += c.toString()));
    let t = 0;
    const bar = new ProgressBar(out, 1000, true, () => t, 10);
    bar.update(100);
    t = 50;
    bar.update(200);
    t = 150;
    bar.update(500);
    bar.done();
    assert.equal(written, `\r[#---------]  10% \r[#####-----]  50% \r${' '.repeat(18)}\r`);
  });

  it('writes nothing when stderr is not a terminal', () => {
    const out = new PassThrough();
    let written = '';
    out.on('data', (c: Buffer) => (written += c.toString()));
    const bar = new ProgressBar(out, 1000, false);
    bar.update(500);
    bar.done();
    assert.equal(written, '');
  });
});

describe('tollgate audit export --format traffic', () => {
  it('turns decisions and their settles into traffic lines that simulate replays', async () => {
    const dir = tempDir();
    const ledger = await Ledger.open(dir, { clock: steppingClock(Date.parse('2026-11-23T09:00:00Z'), 1000) });
    const a = ledger.append(decision(1, { identity: { user: 'bob@acme.dev', agent: 'nb', session: 's', roles: ['ml-engineers'] }, model: 'gpt-4o', model_served: 'gpt-4o', reserved: { input_tokens: 120, output_tokens: 400, usd: 0.0043 }, trace: 'abc' }));
    const refused = ledger.append(decision(2, { outcome: 'refuse', status: 429, rule: 'agent-burst', identity: { user: 'bob@acme.dev', agent: 'nb', session: 's', roles: ['ml-engineers'] }, reserved: { input_tokens: 0, output_tokens: 0, usd: 0 } }));
    const unsettled = ledger.append(decision(3, { identity: { user: 'carol@acme.dev', agent: 'default', session: 's2', roles: [] }, classification: ['pii'], reserved: { input_tokens: 50, output_tokens: 1024, usd: 0.001 } }));
    const s = ledger.append({ ...settle(a.record.id), usage: { input_tokens: 118, output_tokens: 77, cache_read_input_tokens: 100, cache_write_input_tokens: 10, reasoning_output_tokens: 20 } });
    await Promise.all([a.durable, refused.durable, unsettled.durable, s.durable]);
    await ledger.close();

    const r = await runTollgate(['audit', 'export', '--format', 'traffic', '--data-dir', dir]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines, [
      { time: '2026-11-23T09:00:00.000Z', user: 'bob@acme.dev', agent: 'nb', roles: ['ml-engineers'], provider: 'openai', route: '/v1/chat/completions', model: 'gpt-4o', input_tokens: 118, max_tokens: 400, output_tokens: 77, cache_read_input_tokens: 100, cache_write_input_tokens: 10, trace: 'abc' },
      { time: '2026-11-23T09:00:01.000Z', user: 'bob@acme.dev', agent: 'nb', roles: ['ml-engineers'], provider: 'openai', route: '/v1/chat/completions', model: 'gpt-4o-mini', input_tokens: 0 },
      // No settle: the decision counts at its reserved worst case.
      { time: '2026-11-23T09:00:02.000Z', user: 'carol@acme.dev', agent: 'default', roles: [], provider: 'openai', route: '/v1/chat/completions', model: 'gpt-4o-mini', input_tokens: 50, max_tokens: 1024, output_tokens: 1024, classification: ['pii'] },
    ]);

    const file = tmpFile('yesterday.jsonl', r.stdout);
    const sim = await runTollgate(['simulate', '--policy', referencePath, '--traffic', file, '--format', 'json']);
    assert.equal(sim.code, 0, sim.stderr);
    const report = JSON.parse(sim.stdout) as SimulationReport;
    assert.equal(report.policy.totals.requests, 3);
    const bob = report.policy.identities.find((i) => i.user === 'bob@acme.dev')!;
    assert.equal(bob.input_tokens, 118 + 0);
    assert.equal(bob.output_tokens, 77 + 1024, 'the refused line replays (admitted this time) at the policy reserve');
  });

  it('still exports jsonl and csv and rejects an unknown format', async () => {
    const r = await runTollgate(['audit', 'export', '--format', 'xml', '--data-dir', tempDir()]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--format must be jsonl, csv or traffic, not 'xml'/);
  });
});
