import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_PROXY_URL, proxyBase } from '../agents/agents';
import { ADMIN_PREFIX, ADMIN_TOKEN_FILE, TOOL_APPROVAL_PATH } from '../contracts/admin';
import type { ToolApprovalResponse } from '../contracts/admin';
import { APPROVAL_TOKEN_HEADER } from '../contracts/approvals';
import { APPROVAL_TOOL_PATTERN, MAX_APPROVAL_TTL_MS, mintApprovalToken } from '../engine/identity/approval-token';
import { isAgentName, normalizeUser } from '../engine/identity/identity';
import { DataDirError, resolveDataDir } from '../store/data-dir';
import { KeyRingError, loadSessionKeys } from '../store/session-key';
import type { CommandGroup } from './args';
import { commandSpec, groupHelpAnswer, parseCommandArgs, parseDurationArg } from './args';
import type { CliIo, CommandRunner } from './io';
import { UsageError } from './io';
import { runBridge } from './mcp-bridge';

const URL_OPTION = { type: 'string', value: 'URL', description: `the proxy (default: $TOLLGATE_PROXY_URL, else ${DEFAULT_PROXY_URL})` } as const;
const SERVER_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export const bridgeSpec = commandSpec({
  name: 'mcp bridge',
  summary: "Be a stdio MCP server for a client that only launches those, passing every message to the proxy's /mcp/<server> (Streamable HTTP) with the session token in $TOLLGATE_TOKEN.",
  notes: [
    'Stdout carries the MCP protocol only; diagnostics go to stderr. The session (and a stdio server the proxy started for it) ends when the client closes stdin.',
    `An approval token in $TOLLGATE_APPROVAL (tollgate mcp grant) goes with every request as ${APPROVAL_TOKEN_HEADER}.`,
  ],
  options: {
    server: { type: 'string', required: true, value: 'NAME', description: "the bundle's MCP server (mcp.servers.<NAME>)" },
    url: URL_OPTION,
    agent: { type: 'string', value: 'A', description: 'the agent to act as (x-tollgate-agent; default: the token\'s)' },
  },
  examples: ['TOLLGATE_TOKEN=$(tollgate token --user you@acme.dev --agent claude-code) tollgate mcp bridge --server everything'],
});

export const approveSpec = commandSpec({
  name: 'mcp approve',
  summary: "Approve the changed definition of an MCP tool, which the proxy hides and refuses until a person does; the approval is recorded in the ledger. Asks the running proxy, with the data dir's admin token.",
  options: {
    server: { type: 'string', required: true, value: 'NAME', description: "the bundle's MCP server" },
    tool: { type: 'string', required: true, value: 'TOOL', description: "the server's name for the tool (echo, not mcp__everything__echo)" },
    by: { type: 'string', value: 'WHO', description: 'who approves, as the ledger names them (default: your login name)' },
    url: URL_OPTION,
    'data-dir': { type: 'string', value: 'DIR', description: "the proxy's data dir, for its admin token (default: $TOLLGATE_DATA_DIR, else ~/.tollgate)" },
  },
  examples: ['tollgate mcp approve --server everything --tool echo'],
});

export const grantSpec = commandSpec({
  name: 'mcp grant',
  summary: "Print a short-lived approval token: it lets one person (and agent) call the tools under tools.approval that match a glob, where no one can be asked. Signed with the data dir's session key.",
  options: {
    tool: { type: 'string', required: true, value: 'GLOB', description: 'the tools it approves, as agents name them (mcp__github__create_issue, mcp__*__write*)' },
    user: { type: 'string', required: true, value: 'U', description: 'the person it approves for (an e-mail)' },
    agent: { type: 'string', value: 'A', description: 'only this agent of theirs' },
    ttl: { type: 'string', default: '10m', value: 'DURATION', description: 'how long it is valid (at most 1h)' },
    'data-dir': { type: 'string', value: 'DIR', description: 'the data dir holding the session key (the same one serve uses)' },
  },
  notes: [
    `Send it as ${APPROVAL_TOKEN_HEADER} on the MCP requests (tollgate mcp bridge sends $TOLLGATE_APPROVAL), beside the session token. The ledger names the approval token:<id>; tollgate token revoke --id <id> revokes it.`,
  ],
  examples: ['export TOLLGATE_APPROVAL=$(tollgate mcp grant --tool mcp__everything__get-env --user you@acme.dev --ttl 5m)'],
});

export const mcpGroup: CommandGroup = {
  name: 'mcp',
  summary: "Reach the proxy's MCP gateway from a stdio-only client, approve changed tool definitions, and grant short-lived approvals of tool calls.",
  commands: [bridgeSpec, approveSpec, grantSpec],
  examples: ['tollgate mcp bridge --server everything', 'tollgate mcp approve --server everything --tool echo', 'tollgate mcp grant --tool mcp__everything__get-env --user you@acme.dev'],
};

function proxyUrl(flag: string | undefined, io: CliIo): string {
  try {
    return proxyBase(flag ?? io.env.TOLLGATE_PROXY_URL ?? DEFAULT_PROXY_URL);
  } catch (err) {
    throw new UsageError(`--url: ${(err as Error).message}`);
  }
}

function serverName(value: string | undefined): string {
  if (!value) throw new UsageError('--server NAME is required');
  if (!SERVER_NAME.test(value)) throw new UsageError(`--server '${value.slice(0, 100)}' is not an MCP server name (lower-case letters, digits, - and _)`);
  return value;
}

async function bridge(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, bridgeSpec);
  const server = serverName(values.server);
  const base = proxyUrl(values.url, io);
  const token = io.env.TOLLGATE_TOKEN?.trim();
  if (!token) {
    io.stderr.write('tollgate mcp bridge: set TOLLGATE_TOKEN to your session token (tollgate token --user ...)\n');
    return 2;
  }
  const approval = io.env.TOLLGATE_APPROVAL?.trim();
  await runBridge({ endpoint: new URL(`${base}/mcp/${server}`), token, ...(approval ? { approval } : {}), agent: values.agent, input: process.stdin, output: process.stdout, warn: (m) => io.stderr.write(`${m}\n`) });
  return 0;
}

async function approve(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, approveSpec);
  const server = serverName(values.server);
  if (!values.tool) throw new UsageError('--tool TOOL is required');
  const base = proxyUrl(values.url, io);
  const tokenFile = path.join(resolveDataDir(values['data-dir'], io.env), ADMIN_TOKEN_FILE);
  let adminToken: string;
  try {
    adminToken = fs.readFileSync(tokenFile, 'utf8').trim();
  } catch (err) {
    io.stderr.write(`tollgate mcp approve: cannot read the admin token ${tokenFile}: ${(err as Error).message}\n`);
    return 1;
  }
  const by = values.by ?? os.userInfo().username;
  let response: Response;
  try {
    response = await fetch(`${base}${ADMIN_PREFIX}${TOOL_APPROVAL_PATH}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ server, tool: values.tool, by }),
    });
  } catch (err) {
    io.stderr.write(`tollgate mcp approve: no proxy answers at ${base} (${(err as Error).message}); approvals are made by the running proxy\n`);
    return 1;
  }
  const body = (await response.json().catch(() => undefined)) as ToolApprovalResponse | { error?: { message?: string } } | undefined;
  if (body && 'ok' in body && body.ok) {
    io.stdout.write(`approved: tool '${values.tool}' of MCP server '${server}' is now pinned at ${body.sha256.slice(0, 12)} (was ${body.previous_sha256.slice(0, 12)})\n`);
    return 0;
  }
  const message = body && 'message' in body ? body.message : body && 'error' in body ? body.error?.message : undefined;
  io.stderr.write(`tollgate mcp approve: ${message ?? `the proxy answered ${response.status}`}\n`);
  return 1;
}

/** `tollgate mcp grant --tool GLOB --user U [--agent A] [--ttl 10m] [--data-dir DIR]` */
async function grant(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, grantSpec);
  if (!values.tool || !APPROVAL_TOOL_PATTERN.test(values.tool)) throw new UsageError('--tool must be a tool name or glob: letters, digits, "_", ".", ":", "/", "-", "*" and "?", at most 256');
  const user = values.user === undefined ? '' : normalizeUser(values.user);
  if (user === '' || user.length > 320 || /[\s\p{C}]/u.test(user)) throw new UsageError('--user must name the person (an e-mail)');
  if (values.agent !== undefined && !isAgentName(values.agent)) throw new UsageError('--agent must be 1 to 64 letters, digits, ".", "_", ":", "/" or "-"');
  const ttlMs = parseDurationArg(values.ttl ?? '10m', '--ttl');
  if (ttlMs < 1000 || ttlMs > MAX_APPROVAL_TTL_MS) throw new UsageError(`--ttl ${values.ttl} must be between 1s and 1h, the longest an approval token may live`);
  let keys: ReturnType<typeof loadSessionKeys>;
  try {
    keys = loadSessionKeys(resolveDataDir(values['data-dir'], io.env));
  } catch (err) {
    if (DataDirError.is(err) || KeyRingError.is(err)) {
      io.stderr.write(`tollgate mcp grant: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const id = randomUUID();
  const now = Date.now();
  const token = await mintApprovalToken(keys, { user, agent: values.agent, tool: values.tool, ttlMs, now, id });
  io.stdout.write(`${token}\n`);
  io.stderr.write(`approval token ${id}: ${values.tool} for ${user}${values.agent ? ` (${values.agent})` : ''} until ${new Date(now + ttlMs).toISOString()}; revoke it with tollgate token revoke --id ${id}\n`);
  return 0;
}

export const run: CommandRunner = async (argv, io) => {
  const [sub, ...rest] = argv;
  const help = groupHelpAnswer(mcpGroup, sub, io.stdout);
  if (help !== undefined) return help;
  switch (sub) {
    case 'bridge':
      return bridge(rest, io);
    case 'approve':
      return approve(rest, io);
    case 'grant':
      return grant(rest, io);
    default:
      throw new UsageError(`unknown subcommand '${sub}' (bridge, approve or grant)`);
  }
};
