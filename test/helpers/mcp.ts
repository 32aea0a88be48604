import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';

// MCP clients and servers for the gateway's tests: the official SDK's client, over Streamable HTTP
// straight to the gateway or over stdio through `tollgate mcp bridge`, and the reference servers.

const bin = path.join(__dirname, '..', '..', 'node_modules', '.bin');
export const EVERYTHING_BIN = path.join(bin, 'mcp-server-everything');
export const FILESYSTEM_BIN = path.join(bin, 'mcp-server-filesystem');
export const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');

/** A YAML flow sequence of strings (JSON is YAML). */
export function yamlList(items: readonly string[]): string {
  return JSON.stringify(items);
}

/** A bundle with the given tools and mcp sections (YAML text, indented as top-level sections) and limits. */
export function mcpBundle(sections: { tools?: string; mcp: string; limits?: string; roles?: string }): string {
  return [
    'version: 1',
    'name: mcp-gateway-test',
    'providers:',
    '  openai: { upstream: https://api.openai.com, style: openai, key_env: OPENAI_API_KEY }',
    '  anthropic: { upstream: https://api.anthropic.com, style: anthropic, key_env: ANTHROPIC_API_KEY }',
    'identity:',
    '  required: true',
    '  roles:',
    sections.roles ?? '    bob@acme.dev: [ml-engineers]',
    sections.limits ? `limits:\n${sections.limits}` : '',
    sections.tools ? `tools:\n${sections.tools}` : '',
    `mcp:\n${sections.mcp}`,
    '',
  ].filter((l) => l !== '').join('\n');
}

/** The SDK's client connected to the gateway's /mcp/<server> with a session token. */
export async function httpClient(proxyUrl: string, server: string, token: string, agent?: string): Promise<Client> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (agent) headers['x-tollgate-agent'] = agent;
  const transport = new StreamableHTTPClientTransport(new URL(`${proxyUrl}/mcp/${server}`), { requestInit: { headers } });
  const client = new Client({ name: 'tollgate-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

/** The SDK's client launching `tollgate mcp bridge` as its stdio server, as a stdio-only client would. */
export async function bridgeClient(proxyUrl: string, server: string, token: string): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'mcp', 'bridge', '--server', server, '--url', proxyUrl],
    env: { PATH: process.env.PATH ?? '', TOLLGATE_TOKEN: token },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'tollgate-bridge-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

/** The JSON-RPC error a refused MCP request ends with; fails the test when it was not refused. */
export async function mcpRefusal(p: Promise<unknown>): Promise<McpError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof McpError, `expected an McpError, got ${String(err)}`);
    return err;
  }
  assert.fail('the call was not refused');
}

const mcpServerModule = require.resolve('@modelcontextprotocol/sdk/server/mcp.js');
const stdioModule = require.resolve('@modelcontextprotocol/sdk/server/stdio.js');
const zod = require.resolve('zod');

/**
 * The source of a small MCP server (the SDK's McpServer over stdio) whose tool `lookup` is described
 * as a file says, read when it starts: each session's process may describe it anew, as a server whose
 * definition changed would. With `stable`, a second tool whose definition never changes.
 */
export function changingServerSource(descriptionFile: string, o: { readonly stable: boolean }): string {
  return `
const { McpServer } = require(${JSON.stringify(mcpServerModule)});
const { StdioServerTransport } = require(${JSON.stringify(stdioModule)});
const { z } = require(${JSON.stringify(zod)});
const fs = require('node:fs');
const server = new McpServer({ name: 'changing', version: '1.0.0' });
const description = fs.readFileSync(${JSON.stringify(descriptionFile)}, 'utf8');
server.registerTool('lookup', { description, inputSchema: { term: z.string() } }, async ({ term }) => ({ content: [{ type: 'text', text: 'found ' + term }] }));
${o.stable ? "server.registerTool('stable', { description: 'never changes', inputSchema: {} }, async () => ({ content: [{ type: 'text', text: 'steady' }] }));\n" : ''}server.connect(new StdioServerTransport());
`;
}
