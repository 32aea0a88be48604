import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { AgentSandbox } from '../../helpers/agents';
import { AGENT_BINARIES, AGENT_TIMEOUT_MS, agentSandbox, describeRun, runAgent } from '../../helpers/agents';
import type { McpWorkspace } from '../../helpers/mcp-workspace';
import { createMcpWorkspace } from '../../helpers/mcp-workspace';
import { CLI } from '../../helpers/serve-process';

const run = promisify(execFile);

/** One request the stand-in gateway saw. */
interface Seen {
  readonly url: string;
  readonly authorization?: string;
  readonly agent?: string;
}

// Needs `npm run build` first: the command line runs from dist/cli.js. The agents only read (and,
// for Claude Code's health check, connect to) what setup wrote: a stand-in gateway on loopback
// records what they send; nothing reaches the internet.
describe('tollgate agents setup: each agent reads its MCP servers through the gateway', function () {
  this.timeout(AGENT_TIMEOUT_MS * 3 + 30_000);
  let sandbox: AgentSandbox;
  let w: McpWorkspace;
  let gateway: http.Server;
  let url: string;
  const seen: Seen[] = [];

  before(async () => {
    sandbox = agentSandbox();
    w = createMcpWorkspace(sandbox.root);
    gateway = http.createServer((req, res) => {
      seen.push({ url: req.url ?? '', authorization: req.headers.authorization, agent: req.headers['x-tollgate-agent'] as string | undefined });
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"a stand-in"}');
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => gateway.close(() => resolve()));
    sandbox.remove();
  });

  /** What every agent gets: nothing of the machine's environment but PATH, and no way out but loopback. */
  function agentEnv(more: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    const dead = 'http://127.0.0.1:9';
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: sandbox.home, TMPDIR: path.join(sandbox.root, 'tmp'), LANG: 'C.UTF-8', TERM: 'dumb', NO_COLOR: '1', CI: '1',
      HTTP_PROXY: dead, HTTPS_PROXY: dead, http_proxy: dead, https_proxy: dead, NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost',
      ...more,
    };
  }

  it('rewrites the four files from the built command line, the agents read them, and remove restores them', async () => {
    const env = { PATH: process.env.PATH, HOME: sandbox.home, CODEX_HOME: w.codexHome, TOLLGATE_DATA_DIR: path.join(sandbox.root, 'data') };
    const setup = await run(process.execPath, [CLI, 'agents', 'setup', 'all', '--policy', w.policy, '--workspace', w.workspace, '--url', url, '--yes'], { env });
    assert.match(setup.stdout, /# {3}mine: not governed/);

    const claudeFile = JSON.parse(fs.readFileSync(w.files['claude-code'].path, 'utf8')) as { mcpServers: Record<string, Record<string, unknown>> };
    assert.deepEqual(claudeFile.mcpServers.everything, { type: 'http', url: `${url}/mcp/everything`, headers: { Authorization: 'Bearer ${TOLLGATE_TOKEN}', 'x-tollgate-agent': 'claude-code' } });
    assert.deepEqual(claudeFile.mcpServers.mine, { command: 'node', args: ['mine.js'] });

    // Claude Code, its project servers approved as a person would: its health check connects to the
    // gateway with the token it expanded from the environment.
    fs.writeFileSync(path.join(sandbox.home, '.claude.json'), JSON.stringify({ projects: { [w.workspace]: { enabledMcpjsonServers: ['everything', 'mine'], hasTrustDialogAccepted: true } } }));
    const claude = await runAgent(AGENT_BINARIES.claude, ['mcp', 'list'], { cwd: w.workspace, env: agentEnv({ TOLLGATE_TOKEN: 'tollgate-session-token', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', DISABLE_AUTOUPDATER: '1' }) });
    assert.equal(claude.code, 0, describeRun(claude));
    assert.match(claude.stdout, new RegExp(`everything: ${url.replace(/[.]/g, '\\.')}/mcp/everything \\(HTTP\\)`), describeRun(claude));
    const fromClaude = seen.find((s) => s.url === '/mcp/everything' && s.agent === 'claude-code');
    assert.ok(fromClaude, `Claude Code reached the gateway: ${JSON.stringify(seen)}`);
    assert.equal(fromClaude.authorization, 'Bearer tollgate-session-token', 'the token from TOLLGATE_TOKEN, never written in the file');

    // Codex reads its [mcp_servers] as Streamable HTTP with the token variable.
    const codex = await runAgent(AGENT_BINARIES.codex, ['mcp', 'list', '--json'], { cwd: sandbox.work, env: agentEnv({ CODEX_HOME: w.codexHome }) });
    assert.equal(codex.code, 0, describeRun(codex));
    const listed = JSON.parse(codex.stdout) as { name: string; transport: { type: string; url?: string; bearer_token_env_var?: string; http_headers?: Record<string, string>; command?: string } }[];
    const byName = new Map(listed.map((s) => [s.name, s.transport]));
    assert.deepEqual(byName.get('everything'), { ...byName.get('everything'), type: 'streamable_http', url: `${url}/mcp/everything`, bearer_token_env_var: 'TOLLGATE_CODEX_API_KEY', http_headers: { 'x-tollgate-agent': 'codex' } });
    assert.equal(byName.get('mine')?.type, 'stdio');

    // Gemini CLI lists the gateway's URL for the server it names.
    const gemini = await runAgent(AGENT_BINARIES.gemini, ['mcp', 'list'], { cwd: w.workspace, env: agentEnv({ GEMINI_API_KEY: 'unused', GEMINI_CLI_TRUST_WORKSPACE: 'true', TOLLGATE_TOKEN: 'tollgate-session-token' }) });
    assert.equal(gemini.code, 0, describeRun(gemini));
    assert.match(`${gemini.stdout}${gemini.stderr}`, new RegExp(`docs: ${url.replace(/[.]/g, '\\.')}/mcp/docs \\(http\\)`), describeRun(gemini));

    const vscode = fs.readFileSync(w.files.vscode.path, 'utf8');
    assert.ok(vscode.includes(`"docs": { "type": "http", "url": "${url}/mcp/docs"`), vscode);
    assert.ok(vscode.includes('"id": "tollgate-token"'));

    await run(process.execPath, [CLI, 'agents', 'remove', 'all', '--workspace', w.workspace], { env });
    for (const f of Object.values(w.files)) assert.equal(fs.readFileSync(f.path, 'utf8'), f.text, `${f.path} is given back byte for byte`);
  });
});
