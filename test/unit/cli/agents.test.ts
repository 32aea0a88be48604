import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeJwt } from 'jose';
import { runTollgate } from '../../helpers/cli';

interface ShowJson {
  action: string;
  proxy: string;
  agents: { agent: string; env?: Record<string, string>; codex?: { file: string; defined: boolean; selected: boolean; baseUrl?: string; current: boolean; changed?: boolean } }[];
}

describe('tollgate agents', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-agents-'));
    env = { HOME: dir, CODEX_HOME: path.join(dir, 'codex'), TOLLGATE_DATA_DIR: path.join(dir, 'data') };
  });

  it('shows each agent its settings, with a token minted for that agent by name', async () => {
    const r = await runTollgate(['agents', 'show', '--user', 'Alice@Acme.dev', '--url', 'http://127.0.0.1:9000/', '--format', 'json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as ShowJson;
    assert.equal(out.proxy, 'http://127.0.0.1:9000');
    const by = new Map(out.agents.map((a) => [a.agent, a]));
    assert.deepEqual([...by.keys()], ['claude-code', 'codex', 'gemini-cli']);
    const claude = by.get('claude-code')!.env!;
    assert.equal(claude.ANTHROPIC_BASE_URL, 'http://127.0.0.1:9000/anthropic');
    assert.equal(claude.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC, '1');
    const gemini = by.get('gemini-cli')!.env!;
    assert.equal(gemini.GOOGLE_GEMINI_BASE_URL, 'http://127.0.0.1:9000/gemini');
    const tokens = { 'claude-code': claude.ANTHROPIC_API_KEY!, codex: by.get('codex')!.env!.TOLLGATE_CODEX_API_KEY!, 'gemini-cli': gemini.GEMINI_API_KEY! };
    for (const [agent, token] of Object.entries(tokens)) {
      const claims = decodeJwt(token);
      assert.equal(claims.agent, agent);
      assert.equal(claims.email, 'alice@acme.dev');
    }
    assert.deepEqual(by.get('codex')!.codex, { file: path.join(dir, 'codex', 'config.toml'), defined: false, selected: false, current: false });
    assert.ok(!fs.existsSync(path.join(dir, 'codex')), 'show writes nothing');
  });

  it('prints shell that sets the variables, taking the proxy address from TOLLGATE_PROXY_URL', async () => {
    const r = await runTollgate(['agents', 'claude-code', '--user', 'bob@acme.dev'], { env: { ...env, TOLLGATE_PROXY_URL: 'http://127.0.0.1:4242' } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^# Claude Code\n/);
    assert.match(r.stdout, /^export ANTHROPIC_BASE_URL=http:\/\/127\.0\.0\.1:4242\/anthropic$/m);
    assert.match(r.stdout, /^export ANTHROPIC_API_KEY=[\w.-]+$/m);
    assert.doesNotMatch(r.stdout, /GEMINI|CODEX/, 'only the agent asked for');
  });

  it('sets Codex up in its config.toml, keeps the rest of the file, and removes it again', async () => {
    const codexHome = path.join(dir, 'codex');
    fs.mkdirSync(codexHome);
    const original = '# mine\nmodel = "o3"\n\n[tui]\nnotifications = true\n';
    fs.writeFileSync(path.join(codexHome, 'config.toml'), original, { mode: 0o644 });
    const set = await runTollgate(['agents', 'setup', 'codex', '--url', 'http://127.0.0.1:9000', '--format', 'json'], { env });
    assert.equal(set.code, 0, set.stderr);
    const codex = (JSON.parse(set.stdout) as ShowJson).agents[0]!.codex!;
    assert.deepEqual(codex, { file: path.join(codexHome, 'config.toml'), defined: true, selected: true, baseUrl: 'http://127.0.0.1:9000/openai/v1', current: true, changed: true });
    const text = fs.readFileSync(codex.file, 'utf8');
    assert.ok(text.startsWith('# mine\nmodel = "o3"\nmodel_provider = "tollgate"\n\n[tui]\nnotifications = true\n'), text);
    assert.match(text, /\[model_providers\.tollgate\]\nname = "Tollgate"\nbase_url = "http:\/\/127\.0\.0\.1:9000\/openai\/v1"\nenv_key = "TOLLGATE_CODEX_API_KEY"\n/);
    assert.match(text, /^wire_api = "responses"$/m);
    assert.equal(fs.statSync(codex.file).mode & 0o777, 0o644, 'the file keeps its mode');
    assert.deepEqual(fs.readdirSync(codexHome), ['config.toml'], 'no temporary file left behind');

    const again = await runTollgate(['agents', 'setup', 'codex', '--url', 'http://127.0.0.1:9000'], { env });
    assert.match(again.stdout, /already set up for this proxy/);
    const shown = await runTollgate(['agents', 'show', 'codex', '--user', 'bob@acme.dev', '--url', 'http://127.0.0.1:9000'], { env });
    assert.match(shown.stdout, /selects the tollgate provider/);
    assert.match(shown.stdout, /^export TOLLGATE_CODEX_API_KEY=/m);

    const removed = await runTollgate(['agents', 'remove', 'codex'], { env });
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /removed the tollgate provider/);
    assert.match(removed.stdout, /^unset TOLLGATE_CODEX_API_KEY$/m);
    assert.equal(fs.readFileSync(codex.file, 'utf8'), original);
  });

  it('writes through a symbolic link to the config instead of replacing the link', async function () {
    if (process.platform === 'win32') this.skip();
    const real = path.join(dir, 'dotfiles', 'codex.toml');
    fs.mkdirSync(path.dirname(real));
    fs.writeFileSync(real, 'model = "o3"\n');
    fs.mkdirSync(path.join(dir, 'codex'));
    fs.symlinkSync(real, path.join(dir, 'codex', 'config.toml'));
    const r = await runTollgate(['agents', 'setup', 'codex'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fs.lstatSync(path.join(dir, 'codex', 'config.toml')).isSymbolicLink());
    assert.match(fs.readFileSync(real, 'utf8'), /\[model_providers\.tollgate\]/);
  });

  it('leaves a config it cannot edit safely as it is and says why (exit 1)', async () => {
    fs.mkdirSync(path.join(dir, 'codex'));
    const file = path.join(dir, 'codex', 'config.toml');
    const text = '[model_providers]\ntollgate = { name = "mine" }\n';
    fs.writeFileSync(file, text);
    const r = await runTollgate(['agents', 'setup', 'codex'], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /line 2 defines model_providers\.tollgate outside a \[model_providers\.tollgate\] table/);
    assert.equal(fs.readFileSync(file, 'utf8'), text);
    const notADir = path.join(dir, 'plain-file');
    fs.writeFileSync(notADir, '');
    const unusable = await runTollgate(['agents', 'setup', 'codex'], { env: { ...env, CODEX_HOME: notADir } });
    assert.equal(unusable.code, 1, 'a config it cannot reach is not a usage error');
    assert.match(unusable.stderr, /plain-file\/config\.toml: .*ENOTDIR/);
  });

  it('refuses a wrong command line (exit 2)', async () => {
    const cases: [string[], RegExp][] = [
      [['agents', 'show', 'cursor', '--user', 'a@b.c'], /unknown agent 'cursor'/],
      [['agents', 'show'], /--user is required/],
      [['agents', 'show', 'codex', 'gemini-cli', '--user', 'a@b.c'], /unexpected 'gemini-cli'/],
      [['agents', 'show', '--user', 'a@b.c', '--url', 'ftp://x'], /--url: 'ftp:\/\/x' is not an http or https URL/],
      [['agents', 'show', '--user', 'a@b.c', '--format', 'yaml'], /invalid --format/],
    ];
    for (const [argv, message] of cases) {
      const r = await runTollgate(argv, { env });
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.stderr, message);
    }
  });
});
