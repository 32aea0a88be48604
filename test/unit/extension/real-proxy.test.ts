// The extension's proxy plumbing against the real `tollgate serve` (dist/cli.js): the supervisor
// starts it, the admin client reads its state and events, a request's decision reaches the event stream, and
// a rewritten in-force policy file is picked up without a restart.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AdminClient } from '../../../src/extension/core/admin-client';
import { PolicyKeeper, writeFileAtomic } from '../../../src/extension/core/policy-keeper';
import { ProxySupervisor } from '../../../src/extension/core/proxy-supervisor';
import { mintEditorToken } from '../../../src/extension/core/session';
import { proxyEnvironment } from '../../../src/extension/core/terminal-env';
import type { AdminEvent } from '../../../src/contracts/admin';
import { ADMIN_TOKEN_FILE } from '../../../src/contracts/admin';
import { EDITOR_UPSTREAM_KEY, editorPolicy } from '../../editor/workspace';
import { MockUpstream } from '../../helpers/mock-upstream';

const cli = path.resolve(__dirname, '../../../dist/cli.js');

describe('extension plumbing with the real proxy (dist/cli.js serve)', function () {
  this.timeout(60_000);
  let dir: string;
  let mock: MockUpstream;
  let upstream: string;
  let supervisor: ProxySupervisor;

  before(async function () {
    if (!fs.existsSync(cli)) throw new Error('dist/cli.js is missing: run npm run build first');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext-proxy-'));
    mock = new MockUpstream();
    upstream = await mock.start();
    const dataDir = path.join(dir, 'data');
    const keeper = new PolicyKeeper();
    const verdict = keeper.offer(editorPolicy(upstream), 'tollgate.yaml');
    assert.ok(verdict.accepted);
    writeFileAtomic(path.join(dataDir, 'policy-in-force.yaml'), editorPolicy(upstream));
    supervisor = new ProxySupervisor(
      async () => ({ execPath: process.execPath, cliPath: cli, policyFile: path.join(dataDir, 'policy-in-force.yaml'), dataDir, port: 0, upstreams: {}, env: { ...process.env, OPENAI_API_KEY: EDITOR_UPSTREAM_KEY } }),
      { status: () => undefined, listening: () => undefined, log: () => undefined },
    );
  });

  after(async function () {
    await supervisor?.stop();
    await mock?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves a terminal-style request and streams its decision to the views', async () => {
    const url = await supervisor.start();
    const dataDir = path.join(dir, 'data');
    const admin = new AdminClient(url, fs.readFileSync(path.join(dataDir, ADMIN_TOKEN_FILE), 'utf8').trim());
    assert.equal((await admin.health()).policy.name, 'editor-e2e');

    const events: AdminEvent[] = [];
    const stream = admin.events((e) => events.push(e), () => undefined);
    const token = await mintEditorToken(dataDir, 'dev@example.test', 'vscode', 3_600_000, Date.now());
    const env = proxyEnvironment(url, token);
    const call = async (): Promise<void> => {
      const res = await fetch(`${env.OPENAI_BASE_URL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${env.OPENAI_API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(res.status, 200, await res.clone().text());
      await res.text();
      assert.equal(mock.last().headers.authorization, `Bearer ${EDITOR_UPSTREAM_KEY}`);
    };
    // The stream may subscribe after the first call on a loaded machine: then a later call's
    // decision is the one seen. Bounded: at most five calls, each given five seconds.
    for (let attempt = 0; attempt < 5 && !events.some((e) => e.type === 'decision'); attempt++) {
      await call();
      for (let waited = 0; waited < 5_000 && !events.some((e) => e.type === 'decision'); waited += 20) await new Promise((r) => setTimeout(r, 20));
    }
    stream.close();
    const decision = events.find((e) => e.type === 'decision');
    assert.ok(decision && decision.type === 'decision', 'a decision event');
    assert.equal(decision.decision.user, 'dev@example.test');
    const state = await admin.state();
    assert.ok(state.recent.some((d) => d.model === 'gpt-4o-mini' && d.outcome === 'allow'));
    assert.ok(state.accumulators.some((a) => a.rule === 'user-daily' && a.kind === 'budget' && (a.alertAt ?? []).includes(0.8)));
  });

  it('picks up a rewritten in-force policy without a restart (the keeper writes only good bundles)', async () => {
    const url = supervisor.url!;
    const pid = supervisor.pid;
    const dataDir = path.join(dir, 'data');
    const admin = new AdminClient(url, fs.readFileSync(path.join(dataDir, ADMIN_TOKEN_FILE), 'utf8').trim());
    const before = (await admin.health()).policy.hash;
    const next = editorPolicy(upstream).replace('name: editor-e2e', 'name: editor-e2e-v2');
    const keeper = new PolicyKeeper();
    const verdict = keeper.offer(next, 'tollgate.yaml');
    assert.ok(verdict.accepted && verdict.inForce);
    writeFileAtomic(path.join(dataDir, 'policy-in-force.yaml'), next);
    const deadline = Date.now() + 10_000;
    let health = await admin.health();
    while (health.policy.hash === before && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      health = await admin.health();
    }
    assert.equal(health.policy.name, 'editor-e2e-v2');
    assert.equal(health.policy.hash, verdict.inForce.policy.hash, 'the proxy and the editor agree on the bundle hash');
    assert.equal(supervisor.pid, pid, 'no restart was needed');
  });
});
