import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import OpenAI from 'openai';
import { MockUpstream } from '../../helpers/mock-upstream';
import { editsThatOnceKilledTheProxy, positionOf, referenceText } from '../../helpers/policy';
import { eventually } from '../../helpers/poll';
import { startTestProxy } from '../../helpers/proxy';

describe('proxy policy hot reload, admin API and concurrency', () => {
  let mock: MockUpstream;
  let upstream: string;
  before(async () => {
    mock = new MockUpstream();
    upstream = await mock.start();
  });
  after(() => mock.stop());

  it('applies a valid edit to the next request and keeps the last good bundle on a bad edit', async () => {
    const p = await startTestProxy(upstream);
    try {
      const client = new OpenAI({ apiKey: await p.token('alice@acme.dev'), baseURL: `${p.url}/openai/v1`, maxRetries: 0 });
      const refused = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
      assert.ok(refused instanceof OpenAI.PermissionDeniedError);

      fs.writeFileSync(p.policyPath, referenceText.replace('models: [gpt-4o-mini, "claude-haiku-*"', 'models: [gpt-4o-mini, gpt-4o, "claude-haiku-*"'));
      await eventually(async () => (await p.state()).health.policy.hash !== (await p.records()).find((r) => r.kind === 'policy')!.policy.hash, 'the edit to load');
      const ok = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
      assert.equal(ok.choices.length, 1, 'the valid edit is in force for the next request');
      const goodHash = (await p.state()).health.policy.hash;

      const bad = referenceText.replace('rate: 60/min', 'rate: sixty');
      fs.writeFileSync(p.policyPath, bad);
      await eventually(async () => (await p.state()).health.policyError !== undefined, 'the bad edit to be rejected');
      const health = (await p.state()).health;
      const where = positionOf(referenceText, 'rate: 60/min', 'rate: '.length);
      assert.deepEqual(health.policyError!.errors, [`${p.policyPath}:${where.line}:${where.column}: invalid rate 'sixty': expected N/unit with unit s, min, h or day (e.g. 60/min)`]);
      assert.equal(health.policy.hash, goodHash, 'the last good bundle stays in force');
      assert.match(p.logs(), new RegExp(`${where.line}:${where.column}: invalid rate 'sixty'`));
      const still = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
      assert.equal(still.choices.length, 1, 'requests keep being decided by the last good bundle');
      await eventually(async () => (await p.records()).some((r) => r.kind === 'policy' && r.event === 'rejected'), 'a rejected-policy record');
    } finally {
      await p.stop();
    }
  });

  it('keeps the last good bundle in force, and the proxy serving, through each edit that once killed it', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const p = await startTestProxy(upstream);
    try {
      const client = new OpenAI({ apiKey: await p.token('alice@acme.dev'), baseURL: `${p.url}/openai/v1`, maxRetries: 0 });
      const goodHash = (await p.state()).health.policy.hash;
      const rejections = async (): Promise<number> => (await p.records()).filter((r) => r.kind === 'policy' && r.event === 'rejected').length;
      for (const edit of editsThatOnceKilledTheProxy()) {
        const before = await rejections();
        fs.writeFileSync(p.policyPath, edit.text);
        await eventually(async () => (await rejections()) === before + 1, `${edit.name} to be rejected`);
        const health = (await p.state()).health;
        const where = positionOf(edit.text, edit.at);
        assert.equal(health.policyError!.errors.length, 1, edit.name);
        assert.ok(health.policyError!.errors[0]!.startsWith(`${p.policyPath}:${where.line}:${where.column}: `), health.policyError!.errors[0]);
        assert.match(health.policyError!.errors[0]!, edit.message);
        assert.equal(health.policy.hash, goodHash, `${edit.name}: the last good bundle stays in force`);
        const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] });
        assert.equal(answer.choices.length, 1, `${edit.name}: requests are still served`);
        assert.match(p.logs(), new RegExp(`policy edit rejected; 'acme-ai-gateway' \\(${goodHash.slice(0, 12)}\\) stays in force`));
      }
      assert.deepEqual(unhandled, []);
    } finally {
      process.removeListener('unhandledRejection', onUnhandled);
      await p.stop();
    }
  });

  it('guards the admin API with the admin token and streams decisions as they happen', async () => {
    const p = await startTestProxy(upstream);
    try {
      assert.equal((await fetch(`${p.url}/_tollgate/state`)).status, 401);
      assert.equal((await fetch(`${p.url}/_tollgate/state`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
      assert.equal(fs.statSync(`${p.dataDir}/admin-token`).mode & 0o777, 0o600);
      const events = await fetch(`${p.url}/_tollgate/events`, { headers: { authorization: `Bearer ${p.running.adminToken}` } });
      assert.equal(events.status, 200);
      const reader = events.body!.getReader();
      const client = new OpenAI({ apiKey: await p.token('bob@acme.dev', { agent: 'nb' }), baseURL: `${p.url}/openai/v1`, maxRetries: 0 });
      const { response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }).withResponse();
      let text = '';
      const decoder = new TextDecoder();
      const deadline = Date.now() + 3000;
      while (!text.includes(response.headers.get('x-tollgate-decision')!) && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value);
      }
      await reader.cancel();
      assert.match(text, /event: decision\ndata: \{.*"user":"bob@acme.dev".*"agent":"nb"/);
      const state = await p.state();
      assert.ok(state.accumulators.some((a) => a.rule === 'agent-burst' && a.key === 'agent:bob@acme.dev/nb' && a.used > 0.5 && a.used <= 1 && a.limit === 20));
      assert.ok(state.accumulators.some((a) => a.rule === 'user-daily' && a.alertAt?.join() === '0.5,0.8'), JSON.stringify(state.accumulators));
      await eventually(async () => (await p.state()).spend.byUser.some((r) => r.key === 'bob@acme.dev'), 'spend by user');
      assert.ok((await p.state()).recent.some((d) => d.id === response.headers.get('x-tollgate-decision')));
      assert.equal((await fetch(`${p.url}/_tollgate/state`, { method: 'POST', headers: { authorization: `Bearer ${p.running.adminToken}` } })).status, 405);
    } finally {
      await p.stop();
    }
  });

  it('never lets concurrent requests overshoot one budget', async () => {
    // $0.05 a day; each call reserves 1000 output tokens of gpt-4o ($0.01 + input), so at most 4 fit.
    const policyText = referenceText.replace(/limit_usd: 5\n(\s+alert_at: \[0\.5, 0\.8\]\n)\s+on_exceed: downgrade.*\n\s+downgrade_to: gpt-4o-mini\n/, 'limit_usd: 0.05\n$1    on_exceed: refuse\n');
    assert.notEqual(policyText, referenceText);
    const p = await startTestProxy(upstream, { policyText });
    try {
      const client = new OpenAI({ apiKey: await p.token('bob@acme.dev', { agent: 'batch-eval' }), baseURL: `${p.url}/openai/v1`, maxRetries: 0 });
      mock.next.push(...Array.from({ length: 60 }, () => ({ kind: 'stream' as const, chunks: 2, intervalMs: 30 })));
      const results = await Promise.allSettled(
        Array.from({ length: 60 }, () => client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], max_tokens: 1000 })),
      );
      mock.next.length = 0;
      const admitted = results.filter((r) => r.status === 'fulfilled').length;
      const refused = results.filter((r) => r.status === 'rejected' && r.reason instanceof OpenAI.RateLimitError).length;
      assert.equal(admitted + refused, 60);
      assert.ok(admitted >= 1 && admitted <= 4, `${admitted} admitted`);
      await eventually(async () => (await p.records()).filter((r) => r.kind === 'settle').length === admitted, 'every admitted call settled');
      const decisions = (await p.records()).filter((r) => r.kind === 'decision' && r.outcome === 'allow');
      const held = decisions.reduce((s, r) => s + (r.kind === 'decision' ? r.reserved.usd : 0), 0);
      assert.ok(held <= 0.05 + 1e-9, `held $${held} against a $0.05 budget`);
      const budget = (await p.state()).accumulators.find((a) => a.rule === 'user-daily')!;
      assert.ok(budget.used <= 0.05 + 1e-9);
    } finally {
      await p.stop();
    }
  });
});
