import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { StateSnapshot } from '../../../src/contracts/admin';
import { TOKEN_USAGE_BUCKETS } from '../../../src/telemetry/metrics';
import { MockUpstream } from '../../helpers/mock-upstream';
import { referenceText } from '../../helpers/policy';
import { eventually } from '../../helpers/poll';
import { CLI, startServe } from '../../helpers/serve-process';
import type { ServeProcess } from '../../helpers/serve-process';
import { ensurePrometheusBinary, startPrometheus } from './prometheus-server';
import type { Sample, TestPrometheus } from './prometheus-server';

// The proof of the Prometheus endpoint: Debian's Prometheus scrapes a running `tollgate serve`
// with the endpoint's own bearer token, and its HTTP API answers with the values the calls made.

function tokenFor(dataDir: string, user: string, agent: string): string {
  return execFileSync(process.execPath, [CLI, 'token', '--user', user, '--agent', agent, '--data-dir', dataDir], { encoding: 'utf8' }).trim();
}

/** One value per label value of `by`, from a `sum by (by)` query. */
function byLabel(samples: readonly Sample[], by: string): Record<string, number> {
  return Object.fromEntries(samples.map((s) => [s.metric[by] ?? '', s.value]));
}

const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

describe('Prometheus scraping tollgate serve', function () {
  this.timeout(120_000);
  let mock: MockUpstream;
  let dataDir: string;
  let serve: ServeProcess;
  let prometheus: TestPrometheus;

  before(async function () {
    this.timeout(320_000);
    await ensurePrometheusBinary();
    mock = new MockUpstream();
    const upstream = await mock.start();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-prometheus-serve-'));
    const policy = path.join(dataDir, 'tollgate.yaml');
    // A per-person budget and a per-person token window exported; no per-person labels.
    fs.writeFileSync(policy, `${referenceText}\ntelemetry:\n  exported: [user-daily, user-tokens]\n`);
    serve = await startServe(['--data-dir', dataDir, '--policy', policy, '--upstream', `openai=${upstream}`, '--upstream', `anthropic=${upstream}`]);
    prometheus = await startPrometheus({ address: new URL(serve.url).host, tokenFile: path.join(dataDir, 'metrics-token') });
  });

  after(async () => {
    await prometheus?.stop();
    if (serve && serve.child.exitCode === null) {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
    await mock?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('says where the metrics token is, never the token itself', () => {
    const token = fs.readFileSync(path.join(dataDir, 'metrics-token'), 'utf8').trim();
    assert.equal(fs.statSync(path.join(dataDir, 'metrics-token')).mode & 0o777, 0o600);
    assert.match(serve.stderr(), new RegExp(`metrics: GET /_tollgate/metrics with Authorization: Bearer <the token in ${path.join(dataDir, 'metrics-token').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}>`));
    assert.ok(!serve.stderr().includes(token));
  });

  it('returns the token usage, decisions, USD and exported fill the SDK calls produced', async () => {
    const bobToken = tokenFor(dataDir, 'bob@acme.dev', 'notebook');
    const aliceToken = tokenFor(dataDir, 'alice@acme.dev', 'cli');
    const bob = new OpenAI({ apiKey: bobToken, baseURL: `${serve.url}/openai/v1`, maxRetries: 0 });
    const alice = new Anthropic({ apiKey: aliceToken, baseURL: `${serve.url}/anthropic`, maxRetries: 0 });
    const aliceOpenAi = new OpenAI({ apiKey: aliceToken, baseURL: `${serve.url}/openai/v1`, maxRetries: 0 });

    const input: number[] = [];
    const output: number[] = [];
    const chat = await bob.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    input.push(chat.usage!.prompt_tokens);
    output.push(chat.usage!.completion_tokens);
    const stream = await bob.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'count' }], stream: true, stream_options: { include_usage: true } });
    for await (const chunk of stream) {
      if (chunk.usage) {
        input.push(chunk.usage.prompt_tokens);
        output.push(chunk.usage.completion_tokens);
      }
    }
    const msg = await alice.messages.create({ model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
    input.push(msg.usage.input_tokens);
    output.push(msg.usage.output_tokens);
    // Alice's entitlement does not include gpt-4o: refused, never forwarded.
    await assert.rejects(aliceOpenAi.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }), (err: InstanceType<typeof OpenAI.APIError>) => err.status === 403);
    assert.equal(input.length, 3, 'each forwarded call reported its usage to the client');
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

    // What the ledger says the calls cost, and what each person's accumulators hold, for comparison.
    const adminToken = fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
    const state = (await (await fetch(`${serve.url}/_tollgate/state`, { headers: { authorization: `Bearer ${adminToken}` } })).json()) as StateSnapshot;
    const usd = state.spend.byUser.reduce((a, r) => a + r.usd, 0);
    assert.ok(usd > 0);
    const daily = state.accumulators.filter((a) => a.rule === 'user-daily');
    assert.equal(daily.length, 2, 'one user-daily budget per person');
    const fullest = daily.reduce((a, b) => (b.used / b.limit > a.used / a.limit ? b : a));
    const bobTokens = input[0]! + output[0]! + input[1]! + output[1]!;

    await eventually(async () => {
      const tokens = byLabel(await prometheus.query('sum by (gen_ai_token_type) (gen_ai_client_token_usage_sum)'), 'gen_ai_token_type');
      const decisions = byLabel(await prometheus.query('sum by (tollgate_outcome) (tollgate_decisions_total)'), 'tollgate_outcome');
      const spent = (await prometheus.query('sum(tollgate_spend_usd_total)'))[0]?.value ?? 0;
      const fill = await prometheus.query('tollgate_accumulator_fill{tollgate_rule="user-daily"}');
      const usedTokens = await prometheus.query('tollgate_accumulator_used{tollgate_rule="user-tokens"}');
      return tokens.input === sum(input) && tokens.output === sum(output)
        && decisions.allow === 3 && decisions.refuse === 1
        && close(spent, usd)
        && fill.length === 1 && close(fill[0]!.value, fullest.used / fullest.limit)
        && usedTokens.length === 1 && usedTokens[0]!.value === bobTokens;
    }, 'Prometheus to have scraped the values the calls produced', 60_000, 250).catch(async (err: Error) => {
      const t = await prometheus.target();
      throw new Error(`${err.message} (target ${t.health}: ${t.lastError})`);
    });

    // Counted per provider under the conventions' names; the refusal is under the rule that refused it.
    const durations = byLabel(await prometheus.query('sum by (gen_ai_provider_name) (gen_ai_client_operation_duration_count)'), 'gen_ai_provider_name');
    assert.deepEqual(durations, { openai: 2, anthropic: 1 });
    const refusedBy = await prometheus.query('sum by (tollgate_rule) (tollgate_decisions_total{tollgate_outcome="refuse"})');
    assert.equal(refusedBy.length, 1);
    assert.notEqual(refusedBy[0]!.metric.tollgate_rule, 'none');
    // The histogram's buckets are the conventions' boundaries.
    const buckets = await prometheus.query('gen_ai_client_token_usage_bucket{gen_ai_provider_name="anthropic",gen_ai_token_type="input"}');
    const bound = (le: string | undefined): number => (le === '+Inf' ? Infinity : Number(le));
    assert.deepEqual(buckets.map((b) => bound(b.metric.le)).sort((a, b) => a - b), [...TOKEN_USAGE_BUCKETS, Infinity]);
    const usage = await prometheus.query('gen_ai_client_token_usage_count{gen_ai_provider_name="anthropic"}');
    assert.deepEqual(usage.map((s) => s.metric.gen_ai_operation_name), ['chat', 'chat']);
    assert.ok(usage.every((s) => s.metric.gen_ai_request_model === 'claude-haiku-4-5' && s.metric.server_address === '127.0.0.1'));
    // No person label anywhere: the bundle did not ask for per-person metrics.
    assert.deepEqual(await prometheus.query('{tollgate_person!=""}'), []);
    assert.deepEqual(await prometheus.query('{__name__=~"tollgate_.*", tollgate_agent=~".*@.*"}'), []);
  });
});
