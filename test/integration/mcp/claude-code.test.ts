import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as path from 'node:path';
import type { DecisionRecord, SettleRecord } from '../../../src/contracts/audit-records';
import { agentSandbox, AGENT_TIMEOUT_MS, describeRun, runClaudeCode } from '../../helpers/agents';
import type { AgentRun, AgentSandbox } from '../../helpers/agents';
import { LoopbackServer } from '../../helpers/loopback-server';
import { EVERYTHING_BIN, mcpBundle } from '../../helpers/mcp';
import { startTestProxy } from '../../helpers/proxy';
import { runTollgate } from '../../helpers/cli';
import { eventually } from '../../helpers/poll';
import type { TestProxy } from '../../helpers/proxy';

// Claude Code with the gateway as its MCP server (`--mcp-config`), against a mock model upstream
// that asks for MCP tools: the call goes through the gateway attributed to the agent and recorded,
// and a call the bundle refuses (one needing approval, or one outside the agent's entitlement
// since the bundle was narrowed mid-session) comes back to the model as an error tool result.

interface ToolResult {
  readonly tool_use_id: string;
  readonly is_error?: boolean;
  readonly content?: unknown;
}

/** Anthropic's Messages API, streamed, asking for `mcp__everything__echo`, then a second tool, then answering. */
class ToolAskingUpstream extends LoopbackServer {
  readonly results: ToolResult[] = [];
  /** The second tool asked for, and what happens before it is asked for (the bundle changing). */
  second = 'mcp__everything__get-env';
  beforeSecond: () => Promise<void> = () => Promise.resolve();
  /** The MCP tools Claude Code declared in its first agent request. */
  declared: string[] = [];
  readonly requests: string[] = [];

  protected handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => void this.answer(req, res, chunks));
  }

  private async answer(req: http.IncomingMessage, res: http.ServerResponse, chunks: Buffer[]): Promise<void> {
    const path = (req.url ?? '').split('?')[0]!;
    if (req.method !== 'POST' || !path.endsWith('/v1/messages')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ input_tokens: 10 }));
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { tools?: { name: string }[]; messages?: { role: string; content: unknown }[]; stream?: boolean };
    const tools = (body.tools ?? []).map((t) => t.name).filter((n) => n.startsWith('mcp__'));
    this.requests.push((body.tools ?? []).map((t) => t.name).join(','));
    const results: ToolResult[] = [];
    for (const m of body.messages ?? []) {
      if (m.role === 'user' && Array.isArray(m.content)) for (const b of m.content as { type: string }[]) if (b.type === 'tool_result') results.push(b as unknown as ToolResult);
    }
    let content: Record<string, unknown>[];
    let stop = 'end_turn';
    if (!tools.includes('mcp__everything__echo')) content = [{ type: 'text', text: 'ok' }];
    else {
      if (results.length === 0) this.declared = tools;
      if (results.length > this.results.length) this.results.splice(0, this.results.length, ...results);
      const ask = (name: string, input: unknown): Record<string, unknown>[] => {
        stop = 'tool_use';
        return [{ type: 'tool_use', id: `toolu_${results.length}`, name, input }];
      };
      if (results.length === 1) await this.beforeSecond();
      content = results.length === 0 ? ask('mcp__everything__echo', { message: 'through the gateway' }) : results.length === 1 ? ask(this.second, this.second.endsWith('get-sum') ? { a: 1, b: 2 } : {}) : [{ type: 'text', text: 'Done with the tools.' }];
    }
    const message = { id: 'msg_mock', type: 'message', role: 'assistant', model: 'claude-haiku-4-5', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } };
    if (body.stream !== true) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ...message, content, stop_reason: stop, usage: { input_tokens: 10, output_tokens: 5 } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const send = (event: string, data: unknown): boolean => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send('message_start', { type: 'message_start', message });
    content.forEach((block, index) => {
      if (block.type === 'tool_use') {
        send('content_block_start', { type: 'content_block_start', index, content_block: { ...block, input: {} } });
        send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } });
      } else {
        send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
        send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: block.text } });
      }
      send('content_block_stop', { type: 'content_block_stop', index });
    });
    send('message_delta', { type: 'message_delta', delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: 5 } });
    send('message_stop', { type: 'message_stop' });
    res.end();
  }
}

/** Claude Code in -p mode with the gateway's `everything` server as its only MCP server, asked to use echo and then `second`. */
async function runThroughGateway(proxy: TestProxy, sandbox: AgentSandbox, second: string): Promise<AgentRun> {
  const token = await proxy.token('dev@acme.dev', { agent: 'claude-code' });
  const config = path.join(sandbox.root, 'mcp.json');
  fs.writeFileSync(config, JSON.stringify({ mcpServers: { everything: { type: 'http', url: `${proxy.url}/mcp/everything`, headers: { Authorization: `Bearer ${token}` } } } }));
  return runClaudeCode({
    sandbox, prompt: `Use the echo tool, then the ${second} tool.`, model: 'claude-haiku-4-5', baseUrl: `${proxy.url}/anthropic`, apiKey: token,
    // In -p mode Claude Code sends its first request without waiting for MCP servers unless told to:
    // a stdio server starting on a loaded machine would miss it.
    env: { MCP_TIMEOUT: '60000', MCP_CONNECTION_NONBLOCKING: 'false' },
    timeoutMs: AGENT_TIMEOUT_MS * 2,
    extraArgs: ['--mcp-config', config, '--strict-mcp-config', '--allowedTools', `mcp__everything__echo,mcp__everything__${second}`, '--max-turns', '4'],
  });
}

/** A bundle for Claude Code and the everything server: only the gateway's tools are this test's. */
function gatewayBundle(allow: readonly string[], approval: readonly string[] = []): string {
  return mcpBundle({
    // strip: Claude Code declares its built-in tools (Bash, Edit, ...) on every model call; only
    // the gateway's tools are this test's, so the others are sent without, as the reference does.
    tools: ['  on_undeclared: strip', '  default:', `    allow: ${JSON.stringify(allow)}`, `  approval: ${JSON.stringify(approval)}`].join('\n'),
    mcp: `  servers:\n    everything: { command: [${JSON.stringify(EVERYTHING_BIN)}, stdio] }`,
  });
}

/** What one describe block runs on: the tool-asking model upstream, a proxy on its bundle, and Claude Code's sandbox. */
interface GatewayRun {
  upstream: ToolAskingUpstream;
  proxy: TestProxy;
  sandbox: AgentSandbox;
}

/** Starts a GatewayRun before the block's tests and stops it after; filled in by `before`. */
function gatewayRunFor(bundle: string): GatewayRun {
  const run = {} as GatewayRun;
  before(async () => {
    run.upstream = new ToolAskingUpstream();
    const url = await run.upstream.start();
    run.proxy = await startTestProxy(url, { policyText: bundle });
    run.sandbox = agentSandbox();
  });
  after(async () => {
    await run.proxy?.stop();
    await run.upstream?.stop();
    run.sandbox?.remove();
  });
  return run;
}

describe('Claude Code with the MCP gateway as its MCP server', function () {
  this.timeout(AGENT_TIMEOUT_MS * 2 + 60_000);
  const gateway = gatewayRunFor(gatewayBundle(['mcp__everything__echo', 'mcp__everything__get-env'], ['mcp__*__get-env']));

  it('calls an MCP tool through the gateway attributed to claude-code, and gets a refused call back as an error tool result', async () => {
    const { upstream, proxy, sandbox } = gateway;
    const run = await runThroughGateway(proxy, sandbox, 'get-env');
    assert.equal(run.code, 0, describeRun(run));
    assert.ok(upstream.declared.includes('mcp__everything__echo'), `Claude Code declared the gateway's tools: ${upstream.requests.join('\n')}\n${describeRun(run)}\n${proxy.logs().slice(-3000)}`);
    assert.equal(upstream.results.length, 2, describeRun(run));
    const [echoed, refused] = upstream.results;
    assert.notEqual(echoed!.is_error, true);
    assert.match(JSON.stringify(echoed!.content), /Echo: through the gateway/);
    assert.equal(refused!.is_error, true);
    assert.match(JSON.stringify(refused!.content), /Tollgate refused this tool call/);

    const records = await proxy.records();
    const decisions = records.filter((r): r is DecisionRecord => r.kind === 'decision' && r.provider === 'mcp');
    const echo = decisions.find((d) => d.tool === 'mcp__everything__echo');
    assert.ok(echo, 'the echo call is on record');
    assert.deepEqual({ user: echo.identity.user, agent: echo.identity.agent, outcome: echo.outcome }, { user: 'dev@acme.dev', agent: 'claude-code', outcome: 'allow' });
    const refusal = decisions.find((d) => d.tool === 'mcp__everything__get-env');
    assert.ok(refusal, 'the refused call is on record');
    assert.deepEqual({ agent: refusal.identity.agent, outcome: refusal.outcome, rule: refusal.rule }, { agent: 'claude-code', outcome: 'refuse', rule: 'tools.approval' });
    await proxy.stop();
    const exported = await runTollgate(['audit', 'export', '--format', 'jsonl', '--data-dir', proxy.dataDir]);
    const all = exported.stdout.trim().split('\n').map((l) => JSON.parse(l) as SettleRecord);
    assert.ok(all.some((r) => r.kind === 'settle' && r.decision === echo.id && r.is_error === false), 'the echo call is settled');
    assert.equal((await runTollgate(['audit', 'verify', '--data-dir', proxy.dataDir])).code, 0);
  });
});

describe('Claude Code and a tool outside its entitlement, the bundle narrowed mid-session', function () {
  this.timeout(AGENT_TIMEOUT_MS * 2 + 60_000);
  const gateway = gatewayRunFor(gatewayBundle(['mcp__everything__echo', 'mcp__everything__get-sum']));

  it('refuses the tool the new bundle no longer grants, and the agent receives the gateway\'s error', async () => {
    const { upstream, proxy, sandbox } = gateway;
    upstream.second = 'mcp__everything__get-sum';
    // Claude Code listed get-sum when it started; between its two tool calls the team narrows the
    // bundle, and the proxy's watcher puts the new one in force before the model asks for get-sum.
    let narrowed = false;
    upstream.beforeSecond = async (): Promise<void> => {
      if (narrowed) return;
      narrowed = true;
      const before = (await proxy.state()).health.policy.hash;
      fs.writeFileSync(proxy.policyPath, gatewayBundle(['mcp__everything__echo']));
      await eventually(async () => (await proxy.state()).health.policy.hash !== before, 'the narrowed bundle in force', 30_000, 100);
    };
    const run = await runThroughGateway(proxy, sandbox, 'get-sum');
    assert.equal(run.code, 0, describeRun(run));
    assert.ok(narrowed, `the model asked for the second tool: ${upstream.requests.join('\n')}\n${describeRun(run)}`);
    assert.equal(upstream.results.length, 2, describeRun(run));
    const [echoed, refused] = upstream.results;
    assert.notEqual(echoed!.is_error, true);
    assert.equal(refused!.is_error, true);
    assert.match(JSON.stringify(refused!.content), /Tollgate refused this tool call: dev@acme.dev is not entitled to tool 'mcp__everything__get-sum' \(rule 'tools'\)/);

    const decisions = (await proxy.records()).filter((r): r is DecisionRecord => r.kind === 'decision' && r.provider === 'mcp');
    const refusal = decisions.find((d) => d.tool === 'mcp__everything__get-sum');
    assert.ok(refusal, 'the refused call is on record');
    assert.deepEqual(
      { user: refusal.identity.user, agent: refusal.identity.agent, outcome: refusal.outcome, rule: refusal.rule, status: refusal.status },
      { user: 'dev@acme.dev', agent: 'claude-code', outcome: 'refuse', rule: 'tools', status: 403 },
    );
  });
});
