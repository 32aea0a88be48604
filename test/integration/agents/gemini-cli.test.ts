import assert from 'node:assert/strict';
import { AGENT_REPLY, AgentUpstream } from '../../helpers/agent-upstream';
import { agentRigPerSuite, assertAgentRunSettled } from '../../helpers/agent-proxy';
import type { AgentSandbox } from '../../helpers/agents';
import { agentSandbox, AGENT_TIMEOUT_MS, describeRun, runGeminiCli } from '../../helpers/agents';
import { runTollgate } from '../../helpers/cli';
import { UPSTREAM_KEY } from '../../helpers/proxy';

// Gemini CLI speaks Google's native API (the `gemini` provider style). The first test proves the
// harness and the mock against Gemini CLI directly (no proxy); the second runs it through
// `tollgate serve` with what `tollgate agents show gemini-cli` prints. Needs `npm run build` first.
describe('Gemini CLI as a test client', function () {
  this.timeout(AGENT_TIMEOUT_MS + 15_000);
  let upstream: AgentUpstream;
  let sandbox: AgentSandbox;
  before(async () => {
    upstream = new AgentUpstream();
    await upstream.start();
    sandbox = agentSandbox();
  });
  after(async () => {
    await upstream?.stop();
    sandbox?.remove();
  });

  it('completes a prompt against a mock Gemini upstream (directly, no proxy), with the variables `tollgate agents show` names', async () => {
    const shown = await runTollgate(['agents', 'show', 'gemini-cli', '--user', 'dev@acme.dev', '--url', 'http://127.0.0.1:1', '--format', 'json'], { env: { TOLLGATE_DATA_DIR: sandbox.root, HOME: sandbox.home } });
    const names = Object.keys((JSON.parse(shown.stdout) as { agents: { env: Record<string, string> }[] }).agents[0]!.env).sort();
    assert.deepEqual(names, ['GEMINI_API_KEY', 'GOOGLE_GEMINI_BASE_URL']);
    const key = 'gemini-test-key';
    const run = await runGeminiCli({ sandbox, prompt: 'Say hello.', model: 'gemini-2.5-flash', baseUrl: upstream.url, apiKey: key });
    assert.equal(run.code, 0, describeRun(run));
    assert.ok(run.stdout.includes(AGENT_REPLY), describeRun(run));
    const calls = upstream.modelCalls();
    assert.ok(calls.length >= 1, 'the mock answered Gemini CLI');
    for (const call of calls) {
      assert.match(call.url, /^\/v1beta\/models\/gemini-2\.5-flash:streamGenerateContent\?alt=sse$/);
      assert.equal(call.headers['x-goog-api-key'], key);
    }
  });

});

describe('Gemini CLI through tollgate serve on the reference bundle', function () {
  this.timeout(AGENT_TIMEOUT_MS + 30_000);
  // The shipped bundle as it is: the catalogue prices the flash models Gemini CLI calls.
  const rig = agentRigPerSuite();

  it('completes a prompt set up by `tollgate agents show`, attributed to gemini-cli and settled, the upstream seeing only the real key', async () => {
    const { proxy, sandbox } = rig;
    const shown = JSON.parse(await proxy.tollgate(['agents', 'show', 'gemini-cli', '--user', 'dev@acme.dev', '--url', proxy.serve.url, '--data-dir', proxy.dataDir, '--format', 'json'])) as {
      agents: { agent: string; env: Record<string, string> }[];
    };
    const env = shown.agents[0]!.env;
    assert.equal(env.GOOGLE_GEMINI_BASE_URL, `${proxy.serve.url}/gemini`);
    const token = env.GEMINI_API_KEY!;

    const run = await runGeminiCli({ sandbox, prompt: 'Say hello.', model: 'gemini-2.5-flash', env });
    assert.equal(run.code, 0, describeRun(run));
    assert.ok(run.stdout.includes(AGENT_REPLY), describeRun(run));

    const calls = proxy.upstream.modelCalls();
    assert.ok(calls.length >= 1, 'the mock answered Gemini CLI');
    for (const call of calls) {
      assert.match(call.url, /^\/v1beta\/models\/gemini-[a-z0-9.-]+:(streamGenerateContent|generateContent)(\?alt=sse)?$/);
      assert.equal(call.headers['x-goog-api-key'], UPSTREAM_KEY, 'the real key, in the provider header');
      assert.equal(call.headers['x-tollgate-agent'], 'gemini-cli');
    }
    await assertAgentRunSettled(proxy, { provider: 'gemini', agent: 'gemini-cli', model: /^gemini-/, token, modelCall: (d) => /:(streamGenerateContent|generateContent)$/.test(String(d.route)) });
  });
});
