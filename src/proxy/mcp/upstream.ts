import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { McpServerConfig } from '../../engine/policy/model';

// The transport to one MCP server the bundle names: a remote Streamable HTTP server, or a local
// stdio server started for the session. `${NAME}` in a header, argument or environment value is
// read from the proxy's environment here, when the server is reached, and never logged.

/** Why a server could not be reached as configured. */
export class McpUpstreamError extends Error {
  constructor(
    readonly reason: 'missing-variable' | 'stdio-refused',
    message: string,
  ) {
    super(message);
    this.name = 'McpUpstreamError';
  }
  static is(err: unknown, reason?: McpUpstreamError['reason']): err is McpUpstreamError {
    return err instanceof McpUpstreamError && (reason === undefined || err.reason === reason);
  }
}

const reference = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** A value with its `${NAME}` references filled from `env`; a variable not set is an error naming it (never its value). */
export function resolveReferences(value: string, env: NodeJS.ProcessEnv, where: string): string {
  return value.replace(reference, (_m, name: string) => {
    const v = env[name];
    if (v === undefined) throw new McpUpstreamError('missing-variable', `${where} names the environment variable ${name}, which the proxy's environment does not set`);
    return v;
  });
}

export interface UpstreamOptions {
  readonly env: NodeJS.ProcessEnv;
  /** Whether this proxy may start the bundle's stdio servers (see ProxySettings.mcpStdio). */
  readonly stdioAllowed: boolean;
  /** A line the server wrote on stderr (stdio servers). */
  readonly onStderr: (line: string) => void;
}

/** A new transport to the server, not yet started. */
export function upstreamTransport(server: McpServerConfig, o: UpstreamOptions): Transport & { setProtocolVersion?: (v: string) => void } {
  if (server.transport === 'http') {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(server.headers)) headers[name] = resolveReferences(value, o.env, `header '${name}' of MCP server '${server.name}'`);
    return new StreamableHTTPClientTransport(new URL(resolveReferences(server.url, o.env, `the url of MCP server '${server.name}'`)), { requestInit: { headers, redirect: 'error' } });
  }
  if (!o.stdioAllowed) {
    throw new McpUpstreamError('stdio-refused', `MCP server '${server.name}' is a local command, and this proxy does not start local commands from its bundle (the editor starts them only for a bundle of a trusted workspace or the person's own settings)`);
  }
  const [command, ...args] = server.command.map((part, i) => resolveReferences(part, o.env, `command[${i}] of MCP server '${server.name}'`));
  const env: Record<string, string> = { ...getDefaultEnvironment() };
  for (const [name, value] of Object.entries(server.env)) env[name] = resolveReferences(value, o.env, `env ${name} of MCP server '${server.name}'`);
  const t = new StdioClientTransport({ command: command!, args, env, stderr: 'pipe' });
  let partial = '';
  t.stderr?.on('data', (chunk: Buffer) => {
    partial += chunk.toString('utf8');
    // A server that never ends a line cannot grow the proxy's memory.
    if (partial.length > 16_384) partial = partial.slice(-16_384);
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      o.onStderr(partial.slice(0, nl));
      partial = partial.slice(nl + 1);
    }
  });
  return t;
}
