import assert from 'node:assert/strict';
import OpenAI from 'openai';
import type { AuditRecord, ResumptionRecord, SuspensionRecord } from '../../../src/contracts/audit-records';
import type { SuspensionsResponse } from '../../../src/contracts/admin';
import { mintSessionToken } from '../../../src/engine/identity/tokens';
import { loadSessionKeys } from '../../../src/store/session-key';
import { runTollgate } from '../../helpers/cli';
import { MockUpstream } from '../../helpers/mock-upstream';
import { eventually } from '../../helpers/poll';
import { startTestProxy } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';

const HOUR = 3_600_000;
// The proxy's and the ledger's clock: each phase of the test sets the time its calls are made at.
const T = Date.parse('2026-11-20T12:00:00.000Z');

const bundle = `version: 1
name: suspension-test
providers:
  openai: { upstream: https://api.openai.com, style: openai, key_env: OPENAI_API_KEY }
identity: { required: true }
prices:
  gpt-4o-mini: { input: 0.15, output: 0.60 }
guards:
  divergence:
    per: [agent]
    measure: [calls]
    window: 1h
    baseline: 7d
    ratio: 10
    floor: { calls: 20 }
`;

describe('guards.divergence: a runaway agent is suspended, refused, resumed and admitted again', function () {
  // About 130 calls through the SDK, on a shared machine.
  this.timeout(180_000);
  let mock: MockUpstream;
  let upstream: string;
  let now = T;
  const clock = (): number => now;
  before(async () => {
    mock = new MockUpstream();
    upstream = await mock.start();
  });
  after(() => mock.stop());

  async function clientFor(p: TestProxy, agent: string): Promise<OpenAI> {
    const apiKey = await mintSessionToken(loadSessionKeys(p.dataDir), { user: 'dev@acme.dev', agent, ttlMs: 48 * HOUR, now: T - 12 * HOUR });
    return new OpenAI({ apiKey, baseURL: `${p.url}/openai/v1`, maxRetries: 0 });
  }
  const suspensions = async (p: TestProxy): Promise<SuspensionsResponse> =>
    (await (await fetch(`${p.url}/_tollgate/suspensions`, { headers: { authorization: `Bearer ${p.running.adminToken}` } })).json()) as SuspensionsResponse;
  const ask = (c: OpenAI): Promise<unknown> => c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
  const ofKind = <K extends AuditRecord['kind']>(records: AuditRecord[], kind: K): Extract<AuditRecord, { kind: K }>[] => records.filter((r): r is Extract<AuditRecord, { kind: K }> => r.kind === kind);

  it('takes the baseline from earlier traffic in the ledger, suspends past 10x it, and lifts it with tollgate identity resume and the admin API', async () => {
    now = T - 6 * HOUR;
    let p = await startTestProxy(upstream, { policyText: bundle, clock, ledgerOptions: { clock } });
    const dataDir = p.dataDir;
    try {
      const runner = await clientFor(p, 'runner');
      const steady = await clientFor(p, 'steady');
      // Five ordinary hours: 4 calls an hour by the runner, 2 by another agent of the same person.
      for (let h = 6; h >= 2; h--) {
        now = T - h * HOUR;
        for (let i = 0; i < 4; i++) await ask(runner);
        for (let i = 0; i < 2; i++) await ask(steady);
      }
      // The runaway hour: its baseline is 4 calls an hour, so past 10 x 4 = 40 (above the floor of 20) it diverges.
      now = T;
      await ask(steady); // the first call of the hour has the baselines taken again, off the request path
      await eventually(async () => (await suspensions(p)).baselines_at === new Date(T).toISOString(), 'the baselines taken at T', 60_000);
      for (let i = 1; i <= 41; i++) {
        now = T + i;
        await ask(runner);
      }
      now = T + 100;
      const err = await ask(runner).catch((e: unknown) => e);
      assert.ok(err instanceof OpenAI.PermissionDeniedError, String(err));
      assert.equal(err.status, 403);
      assert.equal(err.headers?.get('retry-after'), null, 'waiting does not lift a suspension');
      assert.equal(err.headers?.get('x-tollgate-rule'), 'divergence');
      assert.match(err.message, /guard 'divergence' suspended agent runner of dev@acme\.dev/);
      assert.match(err.message, /41 calls in the window \(10\.3x its usual 4 calls; threshold 40 calls\)/);
      assert.match(err.message, /tollgate identity resume --agent runner --user dev@acme\.dev/);
      // Per agent: the person's other agent goes on working.
      await ask(steady);

      const records = await p.records();
      const [suspension] = ofKind(records, 'suspension') as SuspensionRecord[];
      assert.ok(suspension, 'a suspension record');
      assert.deepEqual(
        { key: suspension.key, identity: suspension.identity, measure: suspension.measure, recent: suspension.recent, baseline: suspension.baseline, threshold: suspension.threshold, ratio: suspension.ratio },
        { key: 'agent:dev@acme.dev/runner', identity: { user: 'dev@acme.dev', agent: 'runner' }, measure: 'calls', recent: 41, baseline: 4, threshold: 40, ratio: 10.25 },
      );
      const alert = ofKind(records, 'alert').find((a) => a.rule === 'divergence');
      assert.ok(alert && alert.key === 'agent:dev@acme.dev/runner' && alert.used === 41 && alert.limit === 40 && alert.unit === 'requests', JSON.stringify(alert));
      assert.match(p.logs(), /guard 'divergence' suspended agent:dev@acme\.dev\/runner/);
      const refused = ofKind(records, 'decision').filter((d) => d.rule === 'divergence');
      assert.equal(refused.length, 1);
      assert.equal(refused[0]!.status, 403);

      // Resumed from the command line while the proxy runs: it applies to the next request.
      const cli = await runTollgate(['identity', 'resume', '--agent', 'runner', '--user', 'dev@acme.dev', '--data-dir', dataDir]);
      assert.equal(cli.code, 0, cli.stderr);
      assert.match(cli.stdout, /resumed agent:dev@acme\.dev\/runner/);
      assert.match(cli.stdout, /queued for the running proxy/);
      now = T + 200;
      await ask(runner);
      const resumption = await eventually(async () => ofKind(await p.records(), 'resumption')[0] as ResumptionRecord | undefined, 'the resumption record', 15_000);
      assert.deepEqual({ key: resumption.key, via: resumption.via, suspended_at: resumption.suspended_at }, { key: 'agent:dev@acme.dev/runner', via: 'cli', suspended_at: suspension.time });

      // Resumed, its window starts again: another 40 calls are fine, the 41st suspends it again.
      for (let i = 1; i <= 40; i++) {
        now = T + 300 + i;
        await ask(runner);
      }
      now = T + 400;
      assert.ok((await ask(runner).catch((e: unknown) => e)) instanceof OpenAI.PermissionDeniedError, 'the 42nd since the resume is refused');
    } finally {
      await p.stop();
    }

    // A suspension outlives a restart.
    now = T + 500;
    p = await startTestProxy(upstream, { policyText: bundle, clock, ledgerOptions: { clock }, dataDir });
    try {
      const runner = await clientFor(p, 'runner');
      assert.ok((await ask(runner).catch((e: unknown) => e)) instanceof OpenAI.PermissionDeniedError, 'still suspended after the restart');
      // The team dashboard's action: the admin API, with the admin token only.
      const post = (auth: string, body: unknown): Promise<Response> =>
        fetch(`${p.url}/_tollgate/identity/resume`, { method: 'POST', headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal((await post('not-the-token', { agent: 'runner', user: 'dev@acme.dev' })).status, 401);
      assert.equal((await post(p.running.adminToken, { agent: 'runner', user: 'dev@acme.dev', role: 'x' })).status, 400);
      const listed = await suspensions(p);
      assert.deepEqual(listed.suspensions.map((s) => s.key), ['agent:dev@acme.dev/runner']);
      const ok = await post(p.running.adminToken, { agent: 'runner', user: 'dev@acme.dev' });
      assert.equal(ok.status, 200);
      assert.deepEqual(((await ok.json()) as { resumed: { key: string }[] }).resumed.map((s) => s.key), ['agent:dev@acme.dev/runner']);
      assert.equal((await post(p.running.adminToken, { agent: 'runner', user: 'dev@acme.dev' })).status, 404, 'nothing left to resume');
      now = T + 600;
      await ask(runner);
      const resumptions = ofKind(await p.records(), 'resumption');
      assert.deepEqual(resumptions.map((r) => r.via), ['cli', 'admin'], 'the ledger holds both resumptions, in order');
      assert.equal(ofKind(await p.records(), 'suspension').length, 2);
    } finally {
      await p.stop();
    }
    const verify = await runTollgate(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });
});
