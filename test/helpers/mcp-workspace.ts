import * as fs from 'node:fs';
import * as path from 'node:path';

// A workspace and a Codex home holding each agent's MCP configuration, some servers named by the
// bundle (everything, docs) and some not (mine), for the tests of `tollgate agents setup`.

export const MCP_POLICY = `version: 1
name: mcp-routing
providers:
  anthropic: { upstream: https://api.anthropic.com, style: anthropic, key_env: ANTHROPIC_API_KEY }
identity:
  required: true
mcp:
  servers:
    everything: { command: [npx, -y, "@modelcontextprotocol/server-everything", stdio] }
    docs: { url: "https://docs.acme.dev/mcp" }
`;

export interface McpWorkspace {
  readonly policy: string;
  readonly workspace: string;
  readonly codexHome: string;
  /** Each file's path and the bytes it was created with. */
  readonly files: Readonly<Record<'claude-code' | 'vscode' | 'codex' | 'gemini-cli', { path: string; text: string }>>;
}

export function createMcpWorkspace(root: string): McpWorkspace {
  const policy = path.join(root, 'policy.yaml');
  const workspace = path.join(root, 'ws');
  const codexHome = path.join(root, 'codex');
  fs.writeFileSync(policy, MCP_POLICY);
  const files = {
    'claude-code': {
      path: path.join(workspace, '.mcp.json'),
      text: '{\n  "mcpServers": {\n    "everything": {\n      "command": "npx",\n      "args": ["-y", "@modelcontextprotocol/server-everything", "stdio"],\n      "env": { "SECRET": "kept-out-of-the-plan" }\n    },\n    "mine": { "command": "node", "args": ["mine.js"] }\n  }\n}\n',
    },
    vscode: {
      path: path.join(workspace, '.vscode', 'mcp.json'),
      text: '{\n\t// servers for this project\n\t"servers": {\n\t\t"docs": { "type": "http", "url": "https://docs.acme.dev/mcp" },\n\t\t"mine": { "type": "stdio", "command": "node", "args": ["mine.js"] },\n\t},\n}\n',
    },
    codex: {
      path: path.join(codexHome, 'config.toml'),
      text: '# my settings\nmodel = "gpt-4o-mini"\n\n[mcp_servers.everything]\ncommand = "npx"\nargs = ["-y", "@modelcontextprotocol/server-everything", "stdio"]\n\n[mcp_servers.everything.env]\nSECRET = "kept-out-of-the-plan"\n\n[mcp_servers.mine]\ncommand = "node"\nargs = ["mine.js"]\n',
    },
    'gemini-cli': {
      path: path.join(workspace, '.gemini', 'settings.json'),
      text: '{\n    "mcpServers": {\n        "docs": { "httpUrl": "https://docs.acme.dev/mcp", "trust": true },\n        "mine": { "command": "node", "args": ["mine.js"] }\n    }\n}\n',
    },
  };
  for (const f of Object.values(files)) {
    fs.mkdirSync(path.dirname(f.path), { recursive: true });
    fs.writeFileSync(f.path, f.text);
  }
  return { policy, workspace, codexHome, files };
}
