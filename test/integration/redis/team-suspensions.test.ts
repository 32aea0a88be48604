import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import OpenAI from 'openai';
import type { SuspensionsResponse } from '../../../src/contracts/admin';
import type { AuditRecord } from '../../../src/contracts/audit-records';
import { runTollgate } from '../../helpers/cli';
import { eventually } from '../../helpers/poll';
import type { TestProxy } from '../../helpers/proxy';
import type { TestRedis } from '../../helpers/redis';
import { startTeamPair } from '../../helpers/team-pair';
import type { TeamPair } from '../../helpers/team-pair';

// Team mode: two proxies share one Redis and one session key (each its own data dir and ledger).
// A runaway agent suspended by the first proxy's guard is refused by the second on its next call;
// a resume through either (the admin API, or `tollgate identity resume --store`) lifts it on both.
// The suspension is recorded by the proxy that decided it, a resumption by the proxy that lifted it.

const POLICY = `version: 1
name: team-suspension
providers:
  openai: { upstream: "http://127.0.0.1:9", style: openai, key_env: OPENAI_API_KEY }
identity:
  required: true
prices:
  gpt-4o-mini: { input: 0.15, output: 0.60 }
entitlements:
  default:
    models: ["*"]
    routes: [/v1/chat/completions]
guards:
  divergence:
    per: [agent]
    measure: [calls]
    window: 1h
    baseline: 7d
    ratio: 10
    floor: { calls: 5 }
`;

describe('suspensions across a Redis pair of proxies', function () {
  this.timeout(180_000);
  let team: TeamPair | undefined;
  let redis: TestRedis;
  let proxies: readonly TestProxy[] = [];
  let policyFile: string;

  before(async () => {
    // One session key for the team: a token minted from either data dir verifies on both.
    team = await startTeamPair('team-sus', POLICY);
    ({ redis, proxies } = team);
    const first = proxies[0]!.dataDir;
    policyFile = path.join(first, 'team.yaml');
    fs.writeFileSync(policyFile, POLICY);
    // Nobody is judged before the proxy has its baselines from the ledger.
    for (const p of proxies) await eventually(async () => (await suspensions(p)).baselines_at !== null, 'the baselines taken', 60_000);
  });

  after(async () => {
    await team?.stop();
  });

  const admin = (p: TestProxy): Record<string, string> => ({ authorization: `Bearer ${p.running.adminToken}`, 'content-type': 'application/json' });
  async function suspensions(p: TestProxy): Promise<SuspensionsResponse> {
    const r = await fetch(`${p.url}/_tollgate/suspensions`, { headers: admin(p) });
    assert.equal(r.status, 200);
    return (await r.json()) as SuspensionsResponse;
  }
  const client = (p: TestProxy, token: string): OpenAI => new OpenAI({ apiKey: token, baseURL: `${p.url}/openai/v1`, maxRetries: 0 });
  const ask = (p: TestProxy, token: string): Promise<unknown> => client(p, token).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
  async function refused(p: TestProxy, token: string): Promise<InstanceType<typeof OpenAI.APIError>> {
    const err = await ask(p, token).catch((e: unknown) => e);
    assert.ok(err instanceof OpenAI.APIError, `the call was admitted: ${String(err)}`);
    return err;
  }
  const ofKind = <K extends AuditRecord['kind']>(records: AuditRecord[], kind: K): Extract<AuditRecord, { kind: K }>[] => records.filter((r): r is Extract<AuditRecord, { kind: K }> => r.kind === kind);
  const KEY = 'agent:dev@acme.dev/runner';

  /** Calls through the first proxy until its guard suspends the runner (past the floor of 5 calls in its window), and waits until the team's list shows it. */
  async function runAway(token: string): Promise<void> {
    for (let i = 0; i < 6; i++) {
      const refusal = await ask(proxies[0]!, token).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (refusal instanceof OpenAI.PermissionDeniedError) break;
      if (refusal !== undefined) throw refusal;
    }
    await eventually(async () => (await suspensions(proxies[1]!)).suspensions.some((s) => s.key === KEY), 'the suspension in the team list', 30_000);
  }

  it('refuses on the second proxy an agent the first suspended, and a resume through the second lifts it on the first', async () => {
    const [a, b] = proxies as [TestProxy, TestProxy];
    const runner = await a.token('dev@acme.dev', { agent: 'runner' });
    const steady = await a.token('dev@acme.dev', { agent: 'steady' });
    await runAway(runner);

    const err = await refused(b, runner);
    assert.equal(err.status, 403);
    assert.equal(err.headers?.get('x-tollgate-rule'), 'divergence');
    assert.match(err.message, /guard 'divergence' suspended agent runner of dev@acme\.dev/);
    assert.equal((await refused(a, runner)).status, 403);
    // Per agent: the person's other agent goes on working on both.
    for (const p of proxies) await ask(p, steady);
    assert.deepEqual((await suspensions(a)).suspensions.map((s) => s.key), [KEY]);

    // Recorded (with its alert) by the proxy that decided it only.
    assert.equal(ofKind(await a.records(), 'suspension').length, 1);
    assert.ok(ofKind(await a.records(), 'alert').some((x) => x.rule === 'divergence' && x.key === KEY));
    assert.equal(ofKind(await b.records(), 'suspension').length, 0);
    assert.equal(ofKind(await b.records(), 'decision').filter((d) => d.rule === 'divergence').length, 1, "the second proxy's refusal is its own decision record");

    const resumed = await fetch(`${b.url}/_tollgate/identity/resume`, { method: 'POST', headers: admin(b), body: JSON.stringify({ agent: 'runner', user: 'dev@acme.dev' }) });
    assert.equal(resumed.status, 200);
    await ask(a, runner);
    await ask(b, runner);
    assert.deepEqual((await suspensions(a)).suspensions, []);
    const resumption = ofKind(await b.records(), 'resumption');
    assert.deepEqual(resumption.map((r) => [r.key, r.via]), [[KEY, 'admin']]);
    assert.equal(ofKind(await a.records(), 'resumption').length, 0);
  });

  it('tollgate identity resume --store lifts a suspension on every proxy, and a proxy of the team records it', async () => {
    const [a, b] = proxies as [TestProxy, TestProxy];
    const runner = await b.token('dev@acme.dev', { agent: 'runner' });
    // Resumed, the window started again on the first proxy: another run away suspends it again.
    await runAway(runner);
    assert.equal((await refused(b, runner)).status, 403);

    const r = await runTollgate(['identity', 'resume', '--agent', 'runner', '--user', 'dev@acme.dev', '--store', redis.url, '--policy', policyFile]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /resumed agent:dev@acme\.dev\/runner/);
    assert.match(r.stdout, /queued for a proxy of the team/);
    await ask(b, runner);
    await ask(a, runner);
    const viaCli = await eventually(async () => {
      const all = [...ofKind(await a.records(), 'resumption'), ...ofKind(await b.records(), 'resumption')];
      return all.filter((x) => x.via === 'cli').length;
    }, 'the resumption recorded by a proxy', 30_000);
    assert.equal(viaCli, 1, 'recorded once, by one proxy');

    const none = await runTollgate(['identity', 'resume', '--agent', 'runner', '--user', 'dev@acme.dev', '--store', redis.url, '--policy', policyFile]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no suspension in force for agent runner of dev@acme\.dev in the team's store/);
  });

  // Last: Redis restarts without its data.
  it('with Redis out of reach, a proxy refuses the suspensions it has seen and decides everyone else; resuming and listing answer 503', async () => {
    const [, b] = proxies as [TestProxy, TestProxy];
    const runner = await b.token('dev@acme.dev', { agent: 'runner' });
    const steady = await b.token('dev@acme.dev', { agent: 'steady' });
    await runAway(runner);
    assert.equal((await refused(b, runner)).status, 403);

    await redis.stop();
    const err = await refused(b, runner);
    assert.equal(err.status, 403);
    assert.equal(err.headers?.get('x-tollgate-rule'), 'divergence');
    await ask(b, steady);
    assert.equal((await fetch(`${b.url}/_tollgate/suspensions`, { headers: admin(b) })).status, 503);
    const resumed = await fetch(`${b.url}/_tollgate/identity/resume`, { method: 'POST', headers: admin(b), body: JSON.stringify({ agent: 'runner', user: 'dev@acme.dev' }) });
    assert.equal(resumed.status, 503);
    assert.match(((await resumed.json()) as { error: { message: string } }).error.message, /nothing was resumed/);
    await redis.start();
  });
});
