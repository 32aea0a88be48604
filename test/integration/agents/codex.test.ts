import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AGENT_REPLY } from '../../helpers/agent-upstream';
import { agentRigPerSuite, assertAgentRunSettled } from '../../helpers/agent-proxy';
import { AGENT_TIMEOUT_MS, describeRun, runCodex } from '../../helpers/agents';
import { UPSTREAM_KEY } from '../../helpers/proxy';

// Needs `npm run build` first: the proxy and the command line run from dist/cli.js.
describe('Codex through tollgate serve on the reference bundle', function () {
  this.timeout(AGENT_TIMEOUT_MS + 30_000);
  const rig = agentRigPerSuite();

  it('completes a prompt with the provider `tollgate agents setup` wrote, attributed to codex and settled, the upstream seeing only the real key', async () => {
    const { proxy, sandbox } = rig;
    const config = path.join(sandbox.codexHome, 'config.toml');
    const own = '# my settings\nmodel_reasoning_effort = "low"\n\n[tui]\nnotifications = false\n';
    fs.writeFileSync(config, own);
    await proxy.tollgate(['agents', 'setup', 'codex', '--url', proxy.serve.url], { CODEX_HOME: sandbox.codexHome });
    assert.ok(fs.readFileSync(config, 'utf8').startsWith('# my settings\nmodel_reasoning_effort = "low"\nmodel_provider = "tollgate"\n\n[tui]\nnotifications = false\n'));
    const shown = JSON.parse(await proxy.tollgate(['agents', 'show', 'codex', '--user', 'dev@acme.dev', '--url', proxy.serve.url, '--data-dir', proxy.dataDir, '--format', 'json'], { CODEX_HOME: sandbox.codexHome })) as {
      agents: { env: Record<string, string>; codex: { current: boolean } }[];
    };
    assert.equal(shown.agents[0]!.codex.current, true);
    const env = shown.agents[0]!.env;
    const token = env.TOLLGATE_CODEX_API_KEY!;

    // --strict-config: Codex itself refuses a config.toml with a field it does not know.
    const run = await runCodex({ sandbox, prompt: 'Say hello.', model: 'gpt-4o-mini', env, strictConfig: true });
    assert.equal(run.code, 0, describeRun(run));
    assert.ok(run.stdout.includes(AGENT_REPLY), describeRun(run));

    const calls = proxy.upstream.modelCalls();
    assert.ok(calls.length >= 1, 'the mock answered Codex');
    for (const call of calls) {
      assert.equal(call.url, '/v1/responses');
      assert.equal(call.headers.authorization, `Bearer ${UPSTREAM_KEY}`, 'the real key, in the provider header');
      assert.equal(call.headers['x-tollgate-agent'], 'codex');
      assert.equal(call.body?.stream, true);
    }
    await assertAgentRunSettled(proxy, { provider: 'openai', agent: 'codex', model: 'gpt-4o-mini', token });

    await proxy.tollgate(['agents', 'remove', 'codex'], { CODEX_HOME: sandbox.codexHome });
    assert.equal(fs.readFileSync(config, 'utf8'), own, 'removing the provider gives the file back as it was');
  });
});
