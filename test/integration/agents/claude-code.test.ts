import assert from 'node:assert/strict';
import { AGENT_REPLY } from '../../helpers/agent-upstream';
import { agentRigPerSuite, assertAgentRunSettled, settledCalls } from '../../helpers/agent-proxy';
import { AGENT_TIMEOUT_MS, describeRun, runClaudeCode } from '../../helpers/agents';
import { proxyEnvironment } from '../../../src/extension/core/terminal-env';
import { UPSTREAM_KEY } from '../../helpers/proxy';

// Needs `npm run build` first: the proxy and the command line run from dist/cli.js.
describe('Claude Code through tollgate serve on the reference bundle', function () {
  this.timeout(AGENT_TIMEOUT_MS + 30_000);
  const rig = agentRigPerSuite();

  it('completes a prompt set up by `tollgate agents show`, attributed to claude-code and settled, the upstream seeing only the real key', async () => {
    const { proxy, sandbox } = rig;
    const shown = JSON.parse(await proxy.tollgate(['agents', 'show', 'claude-code', '--user', 'dev@acme.dev', '--url', proxy.serve.url, '--data-dir', proxy.dataDir, '--format', 'json'])) as {
      agents: { agent: string; env: Record<string, string> }[];
    };
    const env = shown.agents[0]!.env;
    assert.equal(env.ANTHROPIC_BASE_URL, `${proxy.serve.url}/anthropic`);
    const token = env.ANTHROPIC_API_KEY!;

    const run = await runClaudeCode({ sandbox, prompt: 'Say hello.', model: 'claude-haiku-4-5', env });
    assert.equal(run.code, 0, describeRun(run));
    assert.ok(run.stdout.includes(AGENT_REPLY), describeRun(run));

    const calls = proxy.upstream.modelCalls();
    assert.ok(calls.length >= 1, 'the mock answered Claude Code');
    for (const call of calls) {
      assert.match(call.url, /^\/v1\/messages\?beta=true$/);
      assert.equal(call.headers['x-api-key'], UPSTREAM_KEY, 'the real key, in the provider header');
      assert.equal(call.headers['x-tollgate-agent'], 'claude-code');
      // The reference bundle strips the tools dev@acme.dev (no role) is not entitled to: Claude Code's
      // Bash, Edit, Write and the rest go, its Read, Grep and Glob reach the model.
      const tools = (call.body?.tools ?? []) as { name?: string }[];
      assert.ok(tools.length > 0 && tools.every((t) => ['Read', 'Grep', 'Glob'].includes(t.name ?? '')), `only entitled tools go upstream: ${tools.map((t) => t.name).join(', ')}`);
    }
    await assertAgentRunSettled(proxy, { provider: 'anthropic', agent: 'claude-code', model: 'claude-haiku-4-5', token });
    const stripped = (await proxy.records()).filter((r) => r.kind === 'decision' && r.provider === 'anthropic' && r.outcome === 'allow').map((r) => r.tools_stripped as string[] | null);
    assert.ok(stripped.length > 0 && stripped.every((s) => s !== null && s.includes('Bash') && s.includes('Edit')), 'each decision names the tools stripped from the request');
  });
});

describe('Claude Code in an editor terminal: the developer\'s token, named by the header the terminal sets', function () {
  this.timeout(AGENT_TIMEOUT_MS + 30_000);
  const rig = agentRigPerSuite();

  it('is attributed to claude-code though its token names no agent', async () => {
    const { proxy, sandbox } = rig;
    const token = (await proxy.tollgate(['token', '--user', 'dev@acme.dev', '--data-dir', proxy.dataDir])).trim();
    const env = proxyEnvironment(proxy.serve.url, token);
    const run = await runClaudeCode({ sandbox, prompt: 'Say hello.', model: 'claude-haiku-4-5', env: { ...env, CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' } });
    assert.equal(run.code, 0, describeRun(run));
    const calls = proxy.upstream.modelCalls();
    assert.ok(calls.length >= 1, 'the mock answered Claude Code');
    for (const call of calls) assert.equal(call.headers['x-tollgate-agent'], 'claude-code');

    assert.equal(await proxy.stop(), 0, proxy.serve.stderr());
    const settled = settledCalls(await proxy.records()).filter((c) => c.decision.provider === 'anthropic' && c.decision.outcome === 'allow');
    assert.equal(settled.length, calls.length);
    for (const { decision, settle } of settled) {
      assert.deepEqual({ user: decision.identity.user, agent: decision.identity.agent }, { user: 'dev@acme.dev', agent: 'claude-code' });
      assert.ok(settle && settle.usd > 0, 'settled and priced');
    }
  });
});
