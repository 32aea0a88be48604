import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setUpCodexProvider } from '../../../src/agents/codex-config';
import { McpConfigError } from '../../../src/agents/mcp-config-error';
import type { McpConfigLocation } from '../../../src/agents/mcp-files';
import { applyMcpPlan, MAX_MCP_CONFIG_BYTES, mcpConfigLocations, planMcpFile, undoMcpFile, undoRecordDir } from '../../../src/agents/mcp-files';

const proxyUrl = 'http://127.0.0.1:8787';

describe('MCP routing on disk: undo records, atomic writes, files the setup must not touch', () => {
  let dir: string;
  let ws: string;
  let dataDir: string;
  let loc: McpConfigLocation;
  const original = '{\r\n  "mcpServers": {\r\n    "everything": { "command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"] },\r\n    "mine": { "command": "mine" }\r\n  }\r\n}';
  const options = (): Parameters<typeof planMcpFile>[1] => ({ governed: new Set(['everything']), proxyUrl, dataDir });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-mcp-files-'));
    ws = path.join(dir, 'ws');
    dataDir = path.join(dir, 'data');
    fs.mkdirSync(ws);
    loc = mcpConfigLocations(ws, path.join(dir, 'codex'))['claude-code'];
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('rewrites the file atomically with its mode kept, and undo gives back the same bytes', () => {
    fs.writeFileSync(loc.file, original, { mode: 0o640 });
    fs.chmodSync(loc.file, 0o640);
    const plan = planMcpFile(loc, options());
    assert.equal(plan.writes, true);
    assert.equal(fs.readFileSync(loc.file, 'utf8'), original, 'planning writes nothing');
    applyMcpPlan(plan, dataDir, loc);
    const written = fs.readFileSync(loc.file, 'utf8');
    assert.match(written, /"url": "http:\/\/127\.0\.0\.1:8787\/mcp\/everything"/);
    assert.ok(!/[^\r]\n/.test(written), 'the file keeps its line endings');
    assert.equal(fs.statSync(loc.file).mode & 0o777, 0o640);
    assert.deepEqual(fs.readdirSync(ws), ['.mcp.json'], 'no temporary file left behind');
    const records = fs.readdirSync(undoRecordDir(dataDir));
    assert.equal(records.length, 1);
    assert.equal(fs.statSync(path.join(undoRecordDir(dataDir), records[0]!)).mode & 0o777, 0o600, 'the record (which may hold credentials of the original entries) is private');

    // Setting up again plans from the original and changes nothing.
    const again = planMcpFile(loc, options());
    assert.equal(again.writes, false);
    assert.deepEqual(again.rewrite?.alreadyRouted, ['everything']);

    assert.equal(undoMcpFile(loc, dataDir).outcome, 'restored');
    assert.equal(fs.readFileSync(loc.file, 'utf8'), original, 'byte for byte');
    assert.equal(fs.statSync(loc.file).mode & 0o777, 0o640);
    assert.equal(undoMcpFile(loc, dataDir).outcome, 'not-set-up', 'the record went with the undo');
  });

  it('does not clobber a file changed since setup: it says what changed and keeps the record', () => {
    fs.writeFileSync(loc.file, original);
    applyMcpPlan(planMcpFile(loc, options()), dataDir, loc);
    const edited = fs.readFileSync(loc.file, 'utf8').replace('"mine": { "command": "mine" }', '"mine": { "command": "mine" },\r\n    "added": { "command": "new" }');
    fs.writeFileSync(loc.file, edited);
    const result = undoMcpFile(loc, dataDir);
    assert.equal(result.outcome, 'changed');
    assert.match(result.detail ?? '', /servers added: "added"/);
    assert.equal(fs.readFileSync(loc.file, 'utf8'), edited, 'left as it is');
    assert.throws(() => planMcpFile(loc, { ...options(), governed: new Set(['everything', 'added']) }), (e: unknown) => McpConfigError.is(e, 'changed') && e.message.includes(loc.file));
    fs.rmSync(loc.file);
    assert.match(undoMcpFile(loc, dataDir).detail ?? '', /deleted/);
    assert.ok(!fs.existsSync(loc.file), 'a deleted file stays deleted');
  });

  it('writes nothing when the file changed between the plan and its approval', () => {
    fs.writeFileSync(loc.file, original);
    const plan = planMcpFile(loc, options());
    fs.appendFileSync(loc.file, '\n');
    assert.throws(() => applyMcpPlan(plan, dataDir, loc), (e: unknown) => McpConfigError.is(e, 'changed'));
    assert.equal(fs.readFileSync(loc.file, 'utf8'), `${original}\n`);
    assert.ok(!fs.existsSync(undoRecordDir(dataDir)));
  });

  it('refuses a symbolic link that leads out of the workspace, and writes nothing there', function () {
    if (process.platform === 'win32') this.skip();
    const outside = path.join(dir, 'outside.json');
    fs.writeFileSync(outside, original);
    fs.symlinkSync(outside, loc.file);
    assert.throws(() => planMcpFile(loc, options()), (e: unknown) => McpConfigError.is(e, 'unsafe-path') && /outside the workspace/.test(e.message));
    // The same through a linked folder (.vscode -> elsewhere).
    const elsewhere = path.join(dir, 'elsewhere');
    fs.mkdirSync(elsewhere);
    fs.writeFileSync(path.join(elsewhere, 'mcp.json'), '{ "servers": { "everything": { "command": "x" } } }');
    fs.symlinkSync(elsewhere, path.join(ws, '.vscode'));
    const vscode = mcpConfigLocations(ws, dir).vscode;
    assert.throws(() => planMcpFile(vscode, options()), (e: unknown) => McpConfigError.is(e, 'unsafe-path'));
    assert.equal(fs.readFileSync(outside, 'utf8'), original);
    // A dangling link is refused too, never followed to create a file.
    fs.rmSync(loc.file);
    fs.symlinkSync(path.join(dir, 'nowhere.json'), loc.file);
    assert.throws(() => planMcpFile(loc, options()), (e: unknown) => McpConfigError.is(e, 'unsafe-path'));
    assert.ok(!fs.existsSync(path.join(dir, 'nowhere.json')));
  });

  it('follows a link that stays inside the workspace and writes through it', function () {
    if (process.platform === 'win32') this.skip();
    fs.mkdirSync(path.join(ws, 'config'));
    const real = path.join(ws, 'config', 'mcp.json');
    fs.writeFileSync(real, original);
    fs.symlinkSync(real, loc.file);
    applyMcpPlan(planMcpFile(loc, options()), dataDir, loc);
    assert.ok(fs.lstatSync(loc.file).isSymbolicLink());
    assert.match(fs.readFileSync(real, 'utf8'), /mcp\/everything/);
    assert.equal(undoMcpFile(loc, dataDir).outcome, 'restored');
    assert.equal(fs.readFileSync(real, 'utf8'), original);
  });

  it('refuses a file too large for settings, a special file and bytes that are not UTF-8', function () {
    fs.writeFileSync(loc.file, `{ "mcpServers": {}, "pad": "${'x'.repeat(MAX_MCP_CONFIG_BYTES)}" }`);
    assert.throws(() => planMcpFile(loc, options()), (e: unknown) => McpConfigError.is(e, 'too-large'));
    fs.rmSync(loc.file);
    fs.mkdirSync(loc.file);
    assert.throws(() => planMcpFile(loc, options()), (e: unknown) => McpConfigError.is(e, 'unsafe-path') && /not a regular file/.test(e.message));
    fs.rmdirSync(loc.file);
    fs.writeFileSync(loc.file, Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]));
    assert.throws(() => planMcpFile(loc, options()), (e: unknown) => McpConfigError.is(e, 'unreadable') && /UTF-8/.test(e.message));
    if (process.platform === 'win32') return;
    fs.rmSync(loc.file);
    execFileSync('mkfifo', [loc.file]);
    // Never opened: reading a pipe would wait for a writer.
    assert.throws(() => planMcpFile(loc, options()), (e: unknown) => McpConfigError.is(e, 'unsafe-path'));
  });

  it("sets Codex up again for a moved proxy from the original, so remove still gives back the file before the first setup", () => {
    const codex = mcpConfigLocations(ws, path.join(dir, 'codex')).codex;
    const toml = 'model = "o3"\n\n[mcp_servers.everything]\ncommand = "npx"\n';
    fs.mkdirSync(path.dirname(codex.file));
    fs.writeFileSync(codex.file, toml);
    const at = (url: string): Parameters<typeof planMcpFile>[1] => ({ ...options(), proxyUrl: url, prepare: (_client, text) => setUpCodexProvider(text, { baseUrl: `${url}/openai/v1` }) });
    applyMcpPlan(planMcpFile(codex, at('http://127.0.0.1:8787')), dataDir, codex);
    const moved = planMcpFile(codex, at('http://127.0.0.1:9999'));
    assert.equal(moved.writes, true);
    assert.deepEqual(moved.rewrite?.changes.map((c) => c.before), ['stdio npx'], 'the plan starts from the entry before the first setup');
    applyMcpPlan(moved, dataDir, codex);
    const text = fs.readFileSync(codex.file, 'utf8');
    assert.match(text, /url = "http:\/\/127\.0\.0\.1:9999\/mcp\/everything"/);
    assert.match(text, /base_url = "http:\/\/127\.0\.0\.1:9999\/openai\/v1"/);
    assert.equal(undoMcpFile(codex, dataDir).outcome, 'restored');
    assert.equal(fs.readFileSync(codex.file, 'utf8'), toml);
  });

  it('reports a missing file and writes nothing', () => {
    const plan = planMcpFile(loc, options());
    assert.deepEqual([plan.exists, plan.writes], [false, false]);
    assert.ok(!fs.existsSync(loc.file));
  });
});
