import assert from 'node:assert/strict';
import { McpConfigError } from '../../../src/agents/mcp-config-error';
import { rewriteCodexMcpConfig } from '../../../src/agents/mcp-codex';
import { rewriteJsonMcpConfig } from '../../../src/agents/mcp-routing';

const proxyUrl = 'http://127.0.0.1:8787';
const governed = new Set(['everything', 'docs']);
const o = { governed, proxyUrl };

describe("MCP routing: each client's servers the bundle names go through the gateway", () => {
  describe("Claude Code's .mcp.json", () => {
    const original = [
      '{',
      '    "mcpServers": {',
      '        "everything": {',
      '            "command": "npx",',
      '            "args": ["-y", "@modelcontextprotocol/server-everything"],',
      '            "env": { "SECRET": "do-not-print" }',
      '        },',
      '        "github": { "type": "http", "url": "https://api.example.com/mcp?key=abc" }',
      '    },',
      '    "other": [1, 2]',
      '}',
      '',
    ].join('\n');

    it('rewrites a governed server to an HTTP entry whose token is an environment reference, in the file\'s indentation', () => {
      const r = rewriteJsonMcpConfig('claude-code', original, o);
      const parsed = JSON.parse(r.text) as { mcpServers: Record<string, unknown>; other: unknown };
      assert.deepEqual(parsed.mcpServers.everything, {
        type: 'http',
        url: 'http://127.0.0.1:8787/mcp/everything',
        headers: { Authorization: 'Bearer ${TOLLGATE_TOKEN}', 'x-tollgate-agent': 'claude-code' },
      });
      assert.ok(r.text.includes('        "everything": {\n            "type": "http",\n'), r.text);
      assert.ok(r.text.endsWith('        "github": { "type": "http", "url": "https://api.example.com/mcp?key=abc" }\n    },\n    "other": [1, 2]\n}\n'), 'every other byte stays');
      assert.deepEqual(r.changes, [{ server: 'everything', before: 'stdio npx -y @modelcontextprotocol/server-everything', after: 'http http://127.0.0.1:8787/mcp/everything' }]);
      assert.deepEqual(r.notGoverned, ['github']);
      assert.ok(!JSON.stringify(r.changes).includes('do-not-print'), 'the plan never shows an entry\'s environment');
    });

    it('reports a server already pointing at the gateway and changes nothing', () => {
      const once = rewriteJsonMcpConfig('claude-code', original, o).text;
      const again = rewriteJsonMcpConfig('claude-code', once, o);
      assert.equal(again.text, once);
      assert.deepEqual(again.changes, []);
      assert.deepEqual(again.alreadyRouted, ['everything']);
    });

    it('keeps a one-line entry on one line, and a URL\'s query out of the plan', () => {
      const text = '{"mcpServers":{"docs":{"type":"http","url":"https://docs.acme.dev/mcp?token=zzz"}}}';
      const r = rewriteJsonMcpConfig('claude-code', text, o);
      assert.ok(!/\n/.test(r.text));
      assert.equal(r.changes[0]!.before, 'http https://docs.acme.dev/mcp?...');
      assert.equal((JSON.parse(r.text) as { mcpServers: { docs: { url: string } } }).mcpServers.docs.url, 'http://127.0.0.1:8787/mcp/docs');
    });

    it('leaves a file without servers, or an empty one, as it is', () => {
      for (const text of ['', '\n', '{}\n', '{ "mcpServers": {} }\n']) {
        const r = rewriteJsonMcpConfig('claude-code', text, o);
        assert.equal(r.text, text);
        assert.deepEqual([r.changes, r.notGoverned], [[], []]);
      }
    });
  });

  describe("VS Code's .vscode/mcp.json", () => {
    it('rewrites with comments and tabs kept, and adds the input that asks for the token once', () => {
      const text = '{\n\t// my servers\n\t"servers": {\n\t\t"docs": {\n\t\t\t"type": "stdio",\n\t\t\t"command": "docs-mcp", /* local */\n\t\t},\n\t},\n}\n';
      const r = rewriteJsonMcpConfig('vscode', text, o);
      assert.ok(r.text.startsWith('{\n\t// my servers\n\t"servers": {\n\t\t"docs": {\n\t\t\t"type": "http",\n\t\t\t"url": "http://127.0.0.1:8787/mcp/docs",\n'), r.text);
      assert.ok(r.text.includes('"Authorization": "Bearer ${input:tollgate-token}"'));
      assert.ok(r.text.includes('\t"inputs": [\n\t\t{\n\t\t\t"type": "promptString",\n\t\t\t"id": "tollgate-token",'), r.text);
      assert.ok(r.text.includes('"password": true'));
      const again = rewriteJsonMcpConfig('vscode', r.text, o);
      assert.equal(again.text, r.text, 'the input is added once');
    });

    it('appends the input to an existing inputs list, and does not add it twice', () => {
      const text = '{\n  "inputs": [\n    { "type": "promptString", "id": "gh" }\n  ],\n  "servers": { "everything": { "command": "x" } }\n}\n';
      const r = rewriteJsonMcpConfig('vscode', text, o);
      const parsed = JSON.parse(r.text) as { inputs: { id: string }[] };
      assert.deepEqual(parsed.inputs.map((i) => i.id), ['gh', 'tollgate-token']);
      const withInput = '{ "inputs": [{ "id": "tollgate-token" }], "servers": { "everything": { "command": "x" } } }';
      assert.equal((JSON.parse(rewriteJsonMcpConfig('vscode', withInput, o).text) as { inputs: unknown[] }).inputs.length, 1);
    });
  });

  describe("Gemini CLI's .gemini/settings.json", () => {
    it('writes httpUrl and keeps Gemini CLI\'s own settings for the server (trust, timeout, tool filters)', () => {
      const text = '{\n  "theme": "Default",\n  "mcpServers": {\n    "everything": { "command": "npx", "args": ["x"], "trust": true, "timeout": 5000, "includeTools": ["echo"] },\n    "mine": { "command": "mine" }\n  }\n}\n';
      const r = rewriteJsonMcpConfig('gemini-cli', text, o);
      const parsed = JSON.parse(r.text) as { mcpServers: Record<string, unknown> };
      assert.deepEqual(parsed.mcpServers.everything, {
        httpUrl: 'http://127.0.0.1:8787/mcp/everything',
        headers: { Authorization: 'Bearer ${TOLLGATE_TOKEN}', 'x-tollgate-agent': 'gemini-cli' },
        trust: true, timeout: 5000, includeTools: ['echo'],
      });
      assert.deepEqual(r.notGoverned, ['mine']);
      assert.ok(r.text.startsWith('{\n  "theme": "Default",\n'));
    });
  });

  describe("Codex's [mcp_servers] in config.toml", () => {
    const original = [
      'model = "o3"',
      '',
      '[mcp_servers.everything]',
      'command = "npx"',
      'args = ["-y", "@modelcontextprotocol/server-everything"]',
      'tool_timeout_sec = 30',
      '',
      '[mcp_servers.everything.env]',
      'SECRET = "do-not-print"',
      '',
      '# the next table is mine',
      '[mcp_servers.mine]',
      'command = "mine"',
      '',
      '[tui]',
      'notifications = true',
      '',
    ].join('\n');

    it('rewrites the table to Streamable HTTP with the token variable, drops its old transport, keeps the rest', () => {
      const r = rewriteCodexMcpConfig(original, o);
      assert.equal(r.text, [
        'model = "o3"',
        '',
        '[mcp_servers.everything]',
        '# Through the Tollgate gateway (tollgate agents setup); `tollgate agents remove codex` restores the entry it replaced.',
        'url = "http://127.0.0.1:8787/mcp/everything"',
        'bearer_token_env_var = "TOLLGATE_CODEX_API_KEY"',
        'http_headers = { "x-tollgate-agent" = "codex" }',
        'tool_timeout_sec = 30',
        '',
        '# the next table is mine',
        '[mcp_servers.mine]',
        'command = "mine"',
        '',
        '[tui]',
        'notifications = true',
        '',
      ].join('\n'));
      assert.deepEqual(r.changes, [{ server: 'everything', before: 'stdio npx ["-y", "@modelcontextprotocol/server-everything"]', after: 'http http://127.0.0.1:8787/mcp/everything' }]);
      assert.deepEqual(r.notGoverned, ['mine']);
      assert.deepEqual(rewriteCodexMcpConfig(r.text, o).alreadyRouted, ['everything']);
    });

    it('keeps Windows line endings', () => {
      const r = rewriteCodexMcpConfig(original.replace(/\n/g, '\r\n'), o);
      assert.ok(!/[^\r]\n/.test(r.text), 'no bare line feed');
      assert.ok(r.text.includes('url = "http://127.0.0.1:8787/mcp/everything"\r\n'));
    });

    it('refuses a governed server written inline, and an array where tables belong', () => {
      assert.throws(() => rewriteCodexMcpConfig('[mcp_servers]\neverything = { command = "x" }\n', o), (e: unknown) => McpConfigError.is(e, 'conflict') && /line 2 defines the server everything inline/.test(e.message));
      assert.throws(() => rewriteCodexMcpConfig('mcp_servers.docs.url = "https://x"\n', o), (e: unknown) => McpConfigError.is(e, 'conflict'));
      assert.throws(() => rewriteCodexMcpConfig('[[mcp_servers]]\nname = "x"\n', o), (e: unknown) => McpConfigError.is(e, 'conflict'));
      assert.throws(() => rewriteCodexMcpConfig('[mcp_servers.docs\n', o), (e: unknown) => McpConfigError.is(e, 'unreadable'));
      // A server the bundle does not name is only reported, whatever its form.
      assert.deepEqual(rewriteCodexMcpConfig('[mcp_servers]\nmine = { command = "x" }\n', o).notGoverned, ['mine']);
    });
  });

  describe('a hostile file', () => {
    it('is refused when it is not an object, nests too deep, or is not JSON', () => {
      const cases: [string, string][] = [
        ['[1, 2]', 'not-an-object'],
        ['"mcpServers"', 'not-an-object'],
        ['{ "mcpServers": [] }', 'not-an-object'],
        ['{ "mcpServers": { "everything": "npx" } }', 'not-an-object'],
        [`{ "mcpServers": ${'['.repeat(5000)}${']'.repeat(5000)} }`, 'too-deep'],
        ['{ "mcpServers": { ', 'unreadable'],
        ['{ "a": "\u0001" }', 'unreadable'],
        ['{ "a": 1 } trailing', 'unreadable'],
      ];
      for (const [text, reason] of cases) {
        assert.throws(() => rewriteJsonMcpConfig('claude-code', text, o), (e: unknown) => McpConfigError.is(e, reason as 'unreadable'), `${text.slice(0, 40)} -> ${reason}`);
      }
    });

    it('is refused when it names the servers section or a server twice (clients disagree on which counts)', () => {
      assert.throws(() => rewriteJsonMcpConfig('claude-code', '{ "mcpServers": {}, "mcpServers": { "docs": { "command": "x" } } }', o), (e: unknown) => McpConfigError.is(e, 'duplicate'));
      assert.throws(() => rewriteJsonMcpConfig('claude-code', '{ "mcpServers": { "docs": { "command": "a" }, "docs": { "command": "b" } } }', o), (e: unknown) => McpConfigError.is(e, 'duplicate'));
    });

    it('treats __proto__, path-like and control-character names as names: reported, never governed, nothing polluted', () => {
      // Written out: an object literal's __proto__ would set a prototype, not a key.
      const text = '{ "mcpServers": { "__proto__": { "command": "x", "polluted": true }, "../../etc": { "command": "y" }, "a\\u001b[31mb": { "command": "z" }, "constructor": { "command": "w" } } }';
      const before = Object.keys(Object.prototype);
      const r = rewriteJsonMcpConfig('claude-code', text, { governed: new Set(['__proto__', 'constructor', 'everything']), proxyUrl });
      assert.deepEqual(Object.keys(Object.prototype), before);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      // A bundle cannot name these (its names are [a-z0-9][a-z0-9_-]*); when asked to, the URL still stays under /mcp/.
      assert.ok(r.changes.every((c) => c.after.startsWith('http http://127.0.0.1:8787/mcp/')));
      assert.deepEqual(r.notGoverned, ['../../etc', 'a\u001b[31mb']);
      assert.ok(r.text.includes('http://127.0.0.1:8787/mcp/__proto__'));
    });
  });
});
