import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { runCli } from '../../../src/cli/main';
import { runTollgate } from '../../helpers/cli';
import type { McpWorkspace } from '../../helpers/mcp-workspace';
import { createMcpWorkspace } from '../../helpers/mcp-workspace';

const URL = 'http://127.0.0.1:9000';

function snapshot(w: McpWorkspace): Record<string, string> {
  return Object.fromEntries(Object.values(w.files).map((f) => [f.path, fs.readFileSync(f.path, 'utf8')]));
}

function originals(w: McpWorkspace): Record<string, string> {
  return Object.fromEntries(Object.values(w.files).map((f) => [f.path, f.text]));
}

describe('tollgate agents setup: MCP servers through the gateway', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let w: McpWorkspace;
  let args: string[];
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-agents-mcp-'));
    w = createMcpWorkspace(dir);
    env = { HOME: dir, CODEX_HOME: w.codexHome, TOLLGATE_DATA_DIR: path.join(dir, 'data') };
    args = ['--policy', w.policy, '--workspace', w.workspace, '--url', URL];
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('shows the plan (file, server, before -> after, not governed) and writes nothing without approval', async () => {
    const r = await runTollgate(['agents', 'setup', 'all', ...args], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /needs your approval; nothing was written: run again with --yes/);
    assert.match(r.stdout, /# Claude Code: .*\.mcp\.json\n# {3}everything: stdio npx -y @modelcontextprotocol\/server-everything stdio -> http http:\/\/127\.0\.0\.1:9000\/mcp\/everything \(token from \$TOLLGATE_TOKEN\)\n# {3}mine: not governed/);
    assert.match(r.stdout, /# VS Code: .*mcp\.json\n# {3}docs: http https:\/\/docs\.acme\.dev\/mcp -> http http:\/\/127\.0\.0\.1:9000\/mcp\/docs \(token asked once/);
    assert.match(r.stdout, /# Codex: .*config\.toml\n# {3}everything: stdio npx .* \(token from \$TOLLGATE_CODEX_API_KEY\)\n# {3}mine: not governed/);
    assert.match(r.stdout, /# Gemini CLI: .*settings\.json\n# {3}docs: .* -> http http:\/\/127\.0\.0\.1:9000\/mcp\/docs/);
    assert.doesNotMatch(r.stdout, /kept-out-of-the-plan/, 'an entry\'s environment is never printed');
    assert.deepEqual(snapshot(w), originals(w));
    assert.ok(!fs.existsSync(path.join(dir, 'data', 'agents-mcp')));
  });

  it('--dry-run prints the plan and writes nothing, not even Codex\'s provider', async () => {
    const r = await runTollgate(['agents', 'setup', 'all', ...args, '--dry-run', '--format', 'json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { dryRun: boolean; mcp: { client: string; writes: boolean; changes: { server: string }[]; notGoverned: string[] }[] };
    assert.equal(out.dryRun, true);
    assert.deepEqual(out.mcp.map((m) => [m.client, m.writes, m.changes.map((c) => c.server), m.notGoverned]), [
      ['claude-code', true, ['everything'], ['mine']],
      ['vscode', true, ['docs'], ['mine']],
      ['codex', true, ['everything'], ['mine']],
      ['gemini-cli', true, ['docs'], ['mine']],
    ]);
    assert.deepEqual(snapshot(w), originals(w));
  });

  it('--yes rewrites the four files, and remove gives each back byte for byte', async () => {
    const set = await runTollgate(['agents', 'setup', 'all', ...args, '--yes'], { env });
    assert.equal(set.code, 0, set.stderr);
    const claude = JSON.parse(fs.readFileSync(w.files['claude-code'].path, 'utf8')) as { mcpServers: Record<string, { url?: string; command?: string }> };
    assert.equal(claude.mcpServers.everything!.url, `${URL}/mcp/everything`);
    assert.equal(claude.mcpServers.mine!.command, 'node', 'a server the bundle does not name stays');
    assert.match(fs.readFileSync(w.files.vscode.path, 'utf8'), /^\t\t"docs": \{ "type": "http", "url": "http:\/\/127\.0\.0\.1:9000\/mcp\/docs", "headers": \{ "Authorization": "Bearer \$\{input:tollgate-token\}", "x-tollgate-agent": "vscode" \} \},$/m);
    const toml = fs.readFileSync(w.files.codex.path, 'utf8');
    assert.match(toml, /\[mcp_servers\.everything\]\n.*\nurl = "http:\/\/127\.0\.0\.1:9000\/mcp\/everything"\nbearer_token_env_var = "TOLLGATE_CODEX_API_KEY"\n/);
    assert.match(toml, /^model_provider = "tollgate"$/m, 'Codex\'s model provider is set up in the same write');
    assert.doesNotMatch(toml, /kept-out-of-the-plan/);
    assert.match(fs.readFileSync(w.files['gemini-cli'].path, 'utf8'), /"docs": \{ "httpUrl": "http:\/\/127\.0\.0\.1:9000\/mcp\/docs", "headers": \{ "Authorization": "Bearer \$\{TOLLGATE_TOKEN\}", "x-tollgate-agent": "gemini-cli" \}, "trust": true \}/);

    const again = await runTollgate(['agents', 'setup', 'all', ...args], { env });
    assert.equal(again.code, 0, `nothing left to approve: ${again.stderr}`);
    assert.match(again.stdout, /everything: already through the gateway/);

    const removed = await runTollgate(['agents', 'remove', 'all', '--workspace', w.workspace], { env });
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /Claude Code: .*\.mcp\.json: MCP servers given back as they were before setup/);
    assert.deepEqual(snapshot(w), originals(w));
  });

  it('remove leaves a file changed since setup as it is, says what changed, and exits 1', async () => {
    assert.equal((await runTollgate(['agents', 'setup', 'claude-code', ...args, '--yes'], { env })).code, 0);
    const file = w.files['claude-code'].path;
    const edited = fs.readFileSync(file, 'utf8').replace('"mine": {', '"extra": { "command": "x" },\n    "mine": {');
    fs.writeFileSync(file, edited);
    const r = await runTollgate(['agents', 'remove', 'claude-code', '--workspace', w.workspace], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\.mcp\.json changed since setup \(servers added: "extra"\); it was left as it is/);
    assert.equal(fs.readFileSync(file, 'utf8'), edited);
  });

  it('asks in a terminal, and applies only on yes', async () => {
    const ask = async (answer: string): Promise<{ code: number; stderr: string }> => {
      const out = new PassThrough();
      const err = new PassThrough();
      const said: Buffer[] = [];
      err.on('data', (c: Buffer) => said.push(c));
      out.resume();
      const code = await runCli(['agents', 'setup', 'gemini-cli', ...args], { stdout: out, stderr: err, env, cwd: dir, stdoutIsTTY: true, stdin: Readable.from([answer]), stdinIsTTY: true });
      return { code, stderr: Buffer.concat(said).toString('utf8') };
    };
    const no = await ask('n\n');
    assert.equal(no.code, 1);
    assert.match(no.stderr, /Rewrite 1 MCP server in 1 file to go through the gateway\? \[y\/N\] /);
    assert.equal(fs.readFileSync(w.files['gemini-cli'].path, 'utf8'), w.files['gemini-cli'].text);
    const yes = await ask('y\n');
    assert.equal(yes.code, 0, yes.stderr);
    assert.match(fs.readFileSync(w.files['gemini-cli'].path, 'utf8'), /mcp\/docs/);
  });

  it('refuses a hostile workspace file with a clear error and writes no file at all', async () => {
    const claude = w.files['claude-code'].path;
    fs.writeFileSync(claude, `{ "mcpServers": ${'{"a":'.repeat(200)}1${'}'.repeat(200)} }`);
    const deep = await runTollgate(['agents', 'setup', 'all', ...args, '--yes'], { env });
    assert.equal(deep.code, 1);
    assert.match(deep.stderr, /\.mcp\.json line 1: nested deeper than 64 levels; it was left as it is/);
    fs.writeFileSync(claude, '["not", "an", "object"]');
    const array = await runTollgate(['agents', 'setup', 'all', ...args, '--yes'], { env });
    assert.match(array.stderr, /\.mcp\.json the file holds an array, not an object/);
    const rest = snapshot(w);
    delete rest[claude];
    const expected = originals(w);
    delete expected[claude];
    assert.deepEqual(rest, expected, 'one bad file stops the whole setup before anything is written');
  });

  it('says why a policy that does not load leaves everything alone', async () => {
    fs.writeFileSync(w.policy, 'version: 1\nname: x\nmcp: { servers: { "Bad Name": { url: "https://x" } } }\n');
    const r = await runTollgate(['agents', 'setup', 'all', ...args, '--yes'], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the policy does not load; nothing was written/);
    assert.deepEqual(snapshot(w), originals(w));
  });
});
