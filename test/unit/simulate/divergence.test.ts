import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SimulationReport } from '../../../src/simulate/simulate';
import { runTollgate } from '../../helpers/cli';

const HOUR = 3_600_000;
const T = Date.parse('2026-11-23T00:00:00.000Z');

const bundle = `version: 1
name: divergence-replay
providers:
  openai: { upstream: https://api.openai.com, style: openai }
identity: { required: true }
prices:
  gpt-4o-mini: { input: 0.15, output: 0.60 }
guards:
  divergence:
    per: [agent, user]
    measure: [calls, usd]
    window: 1h
    baseline: 7d
    ratio: 10
    floor: { calls: 30, usd: 5 }
`;

interface Line {
  time: string;
  user: string;
  agent: string;
  provider: string;
  model: string;
  input_tokens: number;
  max_tokens: number;
  output_tokens: number;
}

describe('simulate: the suspension guard replayed on a day of traffic', () => {
  it('suspends the one runaway agent at the call that passes 10x its hourly median, and nobody else', async () => {
    const lines: Line[] = [];
    const call = (ms: number, user: string, agent: string): number => {
      lines.push({ time: new Date(ms).toISOString(), user, agent, provider: 'openai', model: 'gpt-4o-mini', input_tokens: 200, max_tokens: 50, output_tokens: 40 });
      return lines.length; // its line in the file
    };
    // Six ordinary hours: bob's batch job 4 calls an hour, his notebook 4, alice's notebook 5.
    for (let h = 0; h < 6; h++) {
      for (let i = 0; i < 5; i++) {
        const at = T + h * HOUR + i * 60_000;
        if (i < 4) call(at, 'bob@acme.dev', 'batch');
        if (i < 4) call(at + 1000, 'bob@acme.dev', 'notebook');
        call(at + 2000, 'alice@acme.dev', 'notebook');
      }
    }
    // Hour 6, from 06:40 (so the last hour's calls have left the window): bob's batch job runs
    // away (50 calls in a minute and a bit); alice works as usual; carol's brand-new agent bursts
    // 25 calls, under the floor of 30.
    const h6 = T + 6 * HOUR + 40 * 60_000;
    const batchLines: number[] = [];
    for (let i = 0; i < 50; i++) {
      batchLines.push(call(h6 + i * 1500, 'bob@acme.dev', 'batch'));
      if (i % 10 === 0) call(h6 + i * 1500 + 500, 'alice@acme.dev', 'notebook');
      if (i < 25) call(h6 + i * 1500 + 700, 'carol@acme.dev', 'fresh-agent');
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-divergence-'));
    const policy = path.join(dir, 'policy.yaml');
    const traffic = path.join(dir, 'yesterday.jsonl');
    fs.writeFileSync(policy, bundle);
    fs.writeFileSync(traffic, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);

    const r = await runTollgate(['simulate', '--policy', policy, '--traffic', traffic, '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as SimulationReport;
    // Bob's batch agent: a median of 4 calls an hour, so 10 x 4 = 40 in the hour is its threshold
    // (above the floor of 30); its 41st call of the hour passes it. Bob himself (8 an hour, so 80)
    // and everyone else stay within theirs.
    assert.deepEqual(report.policy.suspensions, [
      { key: 'agent:bob@acme.dev/batch', user: 'bob@acme.dev', agent: 'batch', time: lines[batchLines[40]! - 1]!.time, line: batchLines[40], measure: 'calls', recent: 41, baseline: 4, threshold: 40, ratio: 10.25 },
    ]);
    const bob = report.policy.identities.find((i) => i.user === 'bob@acme.dev')!;
    assert.deepEqual(bob.refused_by_rule, { divergence: 9 }, 'the batch agent\'s 9 later calls are refused');
    assert.equal(bob.first_refusal?.time, lines[batchLines[41]! - 1]!.time);
    assert.match(bob.first_refusal!.reason, /guard 'divergence' suspended agent batch of bob@acme\.dev/);
    for (const who of ['alice@acme.dev', 'carol@acme.dev']) assert.equal(report.policy.identities.find((i) => i.user === who)?.refused, 0, who);

    const text = await runTollgate(['simulate', '--policy', policy, '--traffic', traffic]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`suspended agent:bob@acme\\.dev/batch at ${lines[batchLines[40]! - 1]!.time.replace(/\./g, '\\.')} \\(line ${batchLines[40]}\\) by 41 calls in the window \\(10\\.3x its usual 4 calls; threshold 40 calls\\)`));
  });

  it('counts MCP tool calls in the window as the gateway does: a runaway tool loop is suspended, and its later tool and model calls refused', async () => {
    const lines: Record<string, unknown>[] = [];
    const model = (ms: number, agent: string): number => lines.push({ time: new Date(ms).toISOString(), user: 'dev@acme.dev', agent, provider: 'openai', model: 'gpt-4o-mini', input_tokens: 200, max_tokens: 50, output_tokens: 40 });
    const tool = (ms: number, agent: string): number => lines.push({ time: new Date(ms).toISOString(), user: 'dev@acme.dev', agent, provider: 'mcp', server: 'everything', tool: 'echo' });
    // Six ordinary hours: the agent makes 2 model calls and 2 tool calls an hour (4 calls).
    for (let h = 0; h < 6; h++) {
      for (let i = 0; i < 2; i++) {
        model(T + h * HOUR + i * 60_000, 'coder');
        tool(T + h * HOUR + i * 60_000 + 1000, 'coder');
      }
    }
    // Hour 6, from 06:40: a loop of 45 tool calls, then one model call.
    const h6 = T + 6 * HOUR + 40 * 60_000;
    const loop: number[] = [];
    for (let i = 0; i < 45; i++) loop.push(tool(h6 + i * 1000, 'coder'));
    const last = model(h6 + 60_000, 'coder');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-divergence-tools-'));
    const policy = path.join(dir, 'policy.yaml');
    const traffic = path.join(dir, 'loop.jsonl');
    fs.writeFileSync(policy, `${bundle}tools:\n  default:\n    allow: ["mcp__everything__*"]\nmcp:\n  servers:\n    everything: { url: "http://127.0.0.1:9/mcp" }\n`);
    fs.writeFileSync(traffic, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);

    const r = await runTollgate(['simulate', '--policy', policy, '--traffic', traffic, '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as SimulationReport;
    // A median of 4 calls an hour (2 of them tool calls): 10 x 4 = 40 is the threshold, for the agent
    // and for its person alike, and the loop's 41st call passes it.
    assert.deepEqual(report.policy.suspensions.map((s) => ({ key: s.key, line: s.line, recent: s.recent, threshold: s.threshold })), [
      { key: 'agent:dev@acme.dev/coder', line: loop[40], recent: 41, threshold: 40 },
      { key: 'user:dev@acme.dev', line: loop[40], recent: 41, threshold: 40 },
    ]);
    const dev = report.policy.identities.find((i) => i.user === 'dev@acme.dev')!;
    assert.deepEqual(dev.refused_by_rule, { divergence: 4 + 1 }, 'the rest of the loop and the model call after it');
    assert.deepEqual(dev.mcp_refused, { mcp__everything__echo: 4 });
    assert.equal(dev.first_refusal?.line, loop[41]);
    assert.ok(last > loop[44]!);
  });
});
