import assert from 'node:assert/strict';
import { CodexConfigError, codexProviderState, removeCodexProvider, setUpCodexProvider } from '../../../src/agents/codex-config';
import { tomlLayout } from '../../../src/agents/toml-layout';

const baseUrl = 'http://127.0.0.1:8787/openai/v1';

const table = [
  '# Added by `tollgate agents setup codex`; `tollgate agents remove codex` takes it out again.',
  '[model_providers.tollgate]',
  'name = "Tollgate"',
  `base_url = "${baseUrl}"`,
  'env_key = "TOLLGATE_CODEX_API_KEY"',
  'env_key_instructions = "Set TOLLGATE_CODEX_API_KEY to a Tollgate session token: eval \\"$(tollgate agents show codex --user YOU)\\""',
  'wire_api = "responses"',
  'http_headers = { "x-tollgate-agent" = "codex" }',
  '',
].join('\n');

/** Files Codex users keep: each must come back byte for byte after setup then remove. */
const tricky: Record<string, string> = {
  empty: '',
  'root keys only': 'model = "gpt-5"\napproval_policy = "on-request"\n',
  'comments, tables and an array of tables': [
    '# My Codex settings',
    'model = "o3"  # the good one',
    '',
    '# Providers I use',
    '[model_providers.azure]',
    'name = "Azure"',
    'base_url = "https://x.openai.azure.com/openai"',
    'query_params = { api-version = "2025-04-01-preview" }',
    '',
    '[[skills]]',
    'name = "one"',
    '',
    '# trailing words',
    '',
  ].join('\n'),
  'a multi-line string that looks like our table': [
    'instructions = """',
    '[model_providers.tollgate]',
    'model_provider = "tollgate"',
    '"""',
    "notes = '''",
    "[x] it's '' quoted",
    "'''",
    '',
    '[profiles.fast]',
    'model_provider = "openai"',
    '',
  ].join('\n'),
  'arrays over several lines with comments and brackets in strings': [
    'notify = [',
    '  "notify-send", # a comment with ] and [',
    '  "]" ,',
    ']',
    '[mcp_servers.docs]',
    'command = "npx"',
    'args = ["-y", "docs-server"]',
    'env = { "A" = "1", B = { c = "[d]" } }',
    '',
  ].join('\n'),
  'windows line endings': 'model = "o3"\r\n\r\n[tui]\r\nnotifications = true\r\n',
  'a byte-order mark and no root keys': '\ufeff# settings\n[tui]\nnotifications = true\n',
  'quoted and dotted keys': '"model" = "o3"\nsandbox_workspace_write.network_access = true\n[ "model_providers" . "local" ]\nname = \'Local\'\n',
};

describe('Codex config: the tollgate provider, edited without touching the rest of the file', () => {
  for (const [name, text] of Object.entries(tricky)) {
    it(`sets up and removes cleanly: ${name}`, () => {
      const set = setUpCodexProvider(text, { baseUrl });
      assert.deepEqual(codexProviderState(set), { defined: true, baseUrl, selected: true });
      assert.ok(set.includes(table.replace(/\n/g, /\r\n/.test(text) ? '\r\n' : '\n')), 'the provider table is written whole');
      // Every statement of the original is still there, in order.
      const kept = tomlLayout(text).map((s) => text.slice(s.start, s.end).replace(/^\ufeff/, ''));
      let at = 0;
      for (const line of kept) {
        const found = set.indexOf(line, at);
        assert.ok(found >= 0, `kept: ${JSON.stringify(line)}`);
        at = found + line.length;
      }
      assert.equal(setUpCodexProvider(set, { baseUrl }), set, 'a second setup changes nothing');
      assert.equal(removeCodexProvider(set), text, 'remove gives back the original file');
      assert.equal(removeCodexProvider(text), text, 'remove on a file without the provider changes nothing');
    });
  }

  it('selects the provider in the root table, before the first table header', () => {
    const set = setUpCodexProvider('model = "o3"\n\n[tui]\nnotifications = true\n', { baseUrl });
    assert.ok(set.startsWith('model = "o3"\nmodel_provider = "tollgate"\n\n[tui]\n'), set);
    const top = setUpCodexProvider('[tui]\nnotifications = true\n', { baseUrl });
    assert.ok(top.startsWith('model_provider = "tollgate"\n[tui]\n'), top);
  });

  it('sets an earlier model_provider aside and restores it exactly on remove', () => {
    const text = 'model_provider = "azure"   # work account\n[model_providers.azure]\nname = "Azure"\n';
    const set = setUpCodexProvider(text, { baseUrl });
    assert.ok(set.startsWith('# tollgate agents setup set this aside: model_provider = "azure"   # work account\nmodel_provider = "tollgate"\n'), set);
    assert.equal(codexProviderState(set).selected, true);
    assert.equal(removeCodexProvider(set), text);
  });

  it('updates the table in place when the proxy moved, keeping what follows it', () => {
    const first = setUpCodexProvider('model = "o3"\n', { baseUrl: 'http://127.0.0.1:9000/openai/v1' });
    const withMore = `${first}\n# my servers\n[mcp_servers.x]\ncommand = "x"\n`;
    const moved = setUpCodexProvider(withMore, { baseUrl });
    assert.equal(codexProviderState(moved).baseUrl, baseUrl);
    assert.equal(moved.split('[model_providers.tollgate]').length, 2, 'one table, not two');
    assert.ok(moved.endsWith('\n# my servers\n[mcp_servers.x]\ncommand = "x"\n'), moved);
    assert.equal(removeCodexProvider(moved), 'model = "o3"\n\n# my servers\n[mcp_servers.x]\ncommand = "x"\n');
  });

  it('replaces a hand-written tollgate table and its sub-tables, keeping comments that belong to the next table', () => {
    const text = 'model_provider = "tollgate"\n[model_providers.tollgate]\nbase_url = "http://old"\n[model_providers.tollgate.query_params]\nx = "1"\n\n# next\n[tui]\nnotifications = true\n';
    const set = setUpCodexProvider(text, { baseUrl });
    assert.equal(set, `model_provider = "tollgate"\n${table}\n# next\n[tui]\nnotifications = true\n`);
  });

  it('adds a line break to a last line that lacks one', () => {
    const set = setUpCodexProvider('model = "o3"', { baseUrl });
    assert.equal(set, `model = "o3"\nmodel_provider = "tollgate"\n\n${table}`);
  });

  it('refuses to edit a file that defines the provider some other way, or that it cannot follow', () => {
    const conflicts = [
      'model_providers = { tollgate = { name = "x" } }\n',
      '[model_providers]\ntollgate = { name = "x" }\n',
      '[model_providers]\ntollgate.base_url = "http://x"\n',
      'model_providers.tollgate.name = "x"\n',
      '[[model_providers]]\nname = "x"\n',
    ];
    for (const text of conflicts) {
      assert.throws(() => setUpCodexProvider(text, { baseUrl }), (e: unknown) => CodexConfigError.is(e, 'conflict'), text);
      assert.throws(() => removeCodexProvider(text), (e: unknown) => CodexConfigError.is(e, 'conflict'), text);
    }
    for (const text of ['instructions = """never closed\n', 'x = [1, 2\n', '[table\n', 'key "x"\n', 'a = "open\n']) {
      assert.throws(() => setUpCodexProvider(text, { baseUrl }), (e: unknown) => CodexConfigError.is(e, 'unreadable') && /line \d+/.test(e.message), text);
    }
  });

  it('reads where the provider stands', () => {
    assert.deepEqual(codexProviderState(''), { defined: false, baseUrl: undefined, selected: false });
    assert.deepEqual(codexProviderState('[model_providers.tollgate]\nbase_url = \'http://x/openai/v1\'\n'), { defined: true, baseUrl: 'http://x/openai/v1', selected: false });
    assert.equal(codexProviderState('[profiles.p]\nmodel_provider = "tollgate"\n').selected, false, 'a profile is not the root table');
  });
});
