import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { AgentUpstream } from './agent-upstream';
import type { AgentSandbox } from './agents';
import { agentSandbox } from './agents';
import { referenceText } from './policy';
import type { ServeProcess } from './serve-process';
import { CLI, startServe } from './serve-process';

// `tollgate serve` from the built bundle on the reference bundle as shipped, its upstreams pointed at a mock
// that answers the coding agents, and `tollgate agents` run as a user runs it.

const run = promisify(execFile);

export interface AgentProxy {
  readonly upstream: AgentUpstream;
  readonly serve: ServeProcess;
  readonly dataDir: string;
  /** `tollgate <args>` from the built bundle against this proxy's data dir; resolves with stdout. */
  tollgate(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<string>;
  /** Stops the proxy (SIGTERM, drained) and returns its exit code. */
  stop(): Promise<number | null>;
  /** The ledger as `tollgate audit export --format jsonl` prints it (stop the proxy first). */
  records(): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export async function startAgentProxy(o: { policyText?: string } = {}): Promise<AgentProxy> {
  const upstream = new AgentUpstream();
  const url = await upstream.start();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-agents-serve-'));
  const policyPath = path.join(dataDir, 'tollgate.yaml');
  fs.writeFileSync(policyPath, o.policyText ?? referenceText);
  const serve = await startServe(['--policy', policyPath, '--data-dir', dataDir, '--upstream', `openai=${url}`, '--upstream', `anthropic=${url}`, '--upstream', `gemini=${url}`]);
  let stopped: Promise<number | null> | undefined;
  const tollgate = async (args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<string> =>
    (await run(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, ...env }, maxBuffer: 64 * 1024 * 1024 })).stdout;
  const stop = (): Promise<number | null> => {
    if (!stopped) {
      serve.child.kill('SIGTERM');
      stopped = serve.exited;
    }
    return stopped;
  };
  return {
    upstream, serve, dataDir, tollgate, stop,
    records: async () => (await tollgate(['audit', 'export', '--format', 'jsonl', '--data-dir', dataDir])).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
    close: async () => {
      await stop();
      await upstream.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** What an agent test runs against: a proxy on the reference bundle and a sandbox for the agent's files. */
export interface AgentRig {
  readonly proxy: AgentProxy;
  readonly sandbox: AgentSandbox;
}

/**
 * Starts a proxy and a sandbox before the tests of the describe block it is called in, and
 * removes both after them. Read the rig's fields inside the tests, once `before` has run.
 */
export function agentRigPerSuite(): AgentRig {
  const rig: { proxy?: AgentProxy; sandbox?: AgentSandbox } = {};
  before(async () => {
    rig.proxy = await startAgentProxy();
    rig.sandbox = agentSandbox();
  });
  after(async () => {
    await rig.proxy?.close();
    rig.sandbox?.remove();
  });
  return rig as AgentRig;
}

export interface SettledCall {
  readonly decision: Record<string, unknown> & { id: string; identity: { user: string; agent: string }; provider: string; outcome: string; model: string };
  readonly settle: (Record<string, unknown> & { usage: Record<string, number>; usd: number; status: number }) | undefined;
}

/** Each model-call decision of the ledger with the settle record that closed it. */
export function settledCalls(records: readonly Record<string, unknown>[]): SettledCall[] {
  const settles = new Map(records.filter((r) => r.kind === 'settle').map((r) => [r.decision as string, r]));
  return records
    .filter((r) => r.kind === 'decision')
    .map((d) => ({ decision: d as SettledCall['decision'], settle: settles.get(d.id as string) as SettledCall['settle'] }));
}

/** What an agent's run through the proxy must have left: which provider, agent and model. */
export interface AgentRunExpectation {
  readonly provider: string;
  readonly agent: string;
  readonly model: string | RegExp;
  /** The session token the agent held, which must never reach the upstream. */
  readonly token: string;
  /** Which allowed decisions were model calls (Gemini CLI also lists models). */
  readonly modelCall?: (decision: SettledCall['decision']) => boolean;
}

/**
 * Stops the proxy and proves the run: the token never reached the upstream, and every model call
 * the upstream answered is one allowed decision attributed to the agent, settled with the mock's
 * usage and priced, in a ledger that verifies.
 */
export async function assertAgentRunSettled(proxy: AgentProxy, e: AgentRunExpectation): Promise<void> {
  const calls = proxy.upstream.modelCalls();
  assert.ok(calls.length >= 1, `the mock answered ${e.agent}`);
  for (const seen of proxy.upstream.seen) assert.ok(!JSON.stringify(seen).includes(e.token), `the session token never reached the upstream (${seen.method} ${seen.url})`);
  assert.equal(await proxy.stop(), 0, proxy.serve.stderr());
  const settled = settledCalls(await proxy.records()).filter((c) => c.decision.provider === e.provider && c.decision.outcome === 'allow' && (e.modelCall?.(c.decision) ?? true));
  assert.equal(settled.length, calls.length, 'one allowed decision per call the upstream saw');
  for (const { decision, settle } of settled) {
    assert.deepEqual({ user: decision.identity.user, agent: decision.identity.agent }, { user: 'dev@acme.dev', agent: e.agent });
    if (typeof e.model === 'string') assert.equal(decision.model, e.model);
    else assert.match(decision.model, e.model);
    assert.deepEqual(decision.classification, [], 'the agent\'s own tool definitions are not the user\'s data');
    assert.ok(settle, `decision ${decision.id} was settled`);
    assert.equal(settle.status, 200);
    assert.equal(settle.usage.input_tokens, 1234);
    assert.equal(settle.usage.output_tokens, 9);
    assert.ok(settle.usd > 0, 'priced');
  }
  await proxy.tollgate(['audit', 'verify', '--data-dir', proxy.dataDir]);
}
