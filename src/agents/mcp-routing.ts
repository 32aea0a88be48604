import { AGENT_HEADER, proxyBase } from './agents';
import type { JsonNode } from './jsonc-layout';
import { jsoncLayout, JsoncLayoutError, membersNamed, plainValue } from './jsonc-layout';
import { McpConfigError, printableCommand, printableName } from './mcp-config-error';

// Each agent's MCP servers, sent through the gateway: a server the bundle's `mcp.servers` also names
// becomes an HTTP entry for `<proxy>/mcp/<name>`, its token read from the environment (or, in VS
// Code, asked for once) so no file holds it. Servers the bundle does not name stay as they are and
// are reported. Only the rewritten entries change: every other byte of the file stays.

/** The clients whose MCP servers the setup routes: the agents, and VS Code's own. */
export const MCP_CLIENTS = ['claude-code', 'vscode', 'codex', 'gemini-cli'] as const;
export type McpClient = (typeof MCP_CLIENTS)[number];

export const MCP_CLIENT_TITLES: Readonly<Record<McpClient, string>> = { 'claude-code': 'Claude Code', vscode: 'VS Code', codex: 'Codex', 'gemini-cli': 'Gemini CLI' };

/** The variable Claude Code and Gemini CLI expand into the gateway's Authorization header. */
export const MCP_TOKEN_ENV = 'TOLLGATE_TOKEN';
/** The VS Code input that asks for the token once and keeps it in VS Code's secret storage. */
export const VSCODE_TOKEN_INPUT = 'tollgate-token';

/** Where the gateway serves a server the bundle names. */
export function gatewayUrl(proxyUrl: string, server: string): string {
  return `${proxyBase(proxyUrl)}/mcp/${encodeURIComponent(server)}`;
}

export interface McpServerChange {
  readonly server: string;
  /** The entry before, in a few words (transport and target; never its headers or environment). */
  readonly before: string;
  /** The entry after, in a few words. */
  readonly after: string;
}

export interface McpRewrite {
  /** The file's new text (the same text when nothing changes). */
  readonly text: string;
  readonly changes: readonly McpServerChange[];
  /** Servers the bundle does not name: left as they are. */
  readonly notGoverned: readonly string[];
  /** Governed servers already pointing at the gateway. */
  readonly alreadyRouted: readonly string[];
}

export interface McpRewriteOptions {
  /** The server names the bundle's `mcp.servers` holds. */
  readonly governed: ReadonlySet<string>;
  readonly proxyUrl: string;
}

/** How a JSON-configured client names its servers and what a gateway entry looks like to it. */
interface JsonClient {
  readonly section: string;
  readonly urlKey: string;
  readonly entry: (url: string) => Record<string, unknown>;
  /** Settings of the client's own (timeouts, trust, tool filters) carried over to the new entry. */
  readonly kept: readonly string[];
}

const JSON_CLIENTS: Readonly<Record<Exclude<McpClient, 'codex'>, JsonClient>> = {
  // Claude Code expands ${VAR} in .mcp.json's url, headers, command, args and env.
  'claude-code': {
    section: 'mcpServers', urlKey: 'url', kept: [],
    entry: (url) => ({ type: 'http', url, headers: { Authorization: `Bearer \${${MCP_TOKEN_ENV}}`, [AGENT_HEADER]: 'claude-code' } }),
  },
  // VS Code starts servers from its own process, whose environment has no token: an input asks once.
  vscode: {
    section: 'servers', urlKey: 'url', kept: [],
    entry: (url) => ({ type: 'http', url, headers: { Authorization: `Bearer \${input:${VSCODE_TOKEN_INPUT}}`, [AGENT_HEADER]: 'vscode' } }),
  },
  // Gemini CLI expands $VAR and ${VAR} in its settings.
  'gemini-cli': {
    section: 'mcpServers', urlKey: 'httpUrl', kept: ['timeout', 'trust', 'includeTools', 'excludeTools', 'description'],
    entry: (url) => ({ httpUrl: url, headers: { Authorization: `Bearer \${${MCP_TOKEN_ENV}}`, [AGENT_HEADER]: 'gemini-cli' } }),
  },
};

const VSCODE_INPUT = { type: 'promptString', id: VSCODE_TOKEN_INPUT, description: 'Tollgate session token (tollgate token --user YOU --agent vscode)', password: true };

/** A URL without its query or fragment, which may carry a credential. */
function printableUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}${u.search ? '?...' : ''}`;
  } catch {
    return printableName(url);
  }
}

/** An entry in a few words: its transport and what it reaches, never its headers or environment. */
export function describeEntry(entry: unknown): string {
  if (typeof entry !== 'object' || entry === null) return 'not an object';
  const e = entry as Record<string, unknown>;
  const url = typeof e.url === 'string' ? e.url : typeof e.httpUrl === 'string' ? e.httpUrl : undefined;
  if (url !== undefined) return `http ${printableUrl(url)}`;
  if (typeof e.command === 'string') {
    const args = Array.isArray(e.args) ? e.args.filter((a): a is string => typeof a === 'string') : [];
    return `stdio ${printableCommand([e.command, ...args].join(' '))}`;
  }
  return 'no command or url';
}

interface Format {
  readonly eol: string;
  readonly unit: string;
}

function formatOf(text: string): Format {
  const eol = /\r\n/.test(text) ? '\r\n' : '\n';
  const indented = /^([ \t]+)\S/m.exec(text);
  return { eol, unit: indented ? (indented[1]!.startsWith('\t') ? '\t' : indented[1]!) : '  ' };
}

/** The indentation of the line `offset` is on. */
function indentAt(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart))![0];
}

/** A value written where `at` is: over several lines with the file's indentation, or on one line where the old value was. */
function formatValue(value: unknown, f: Format, indent: string, oneLine: boolean): string {
  if (oneLine) return JSON.stringify(value, null, 1).replace(/\n\s*/g, ' ');
  return JSON.stringify(value, null, f.unit).split('\n').join(`${f.eol}${indent}`);
}

interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

function applyEdits(text: string, edits: readonly Edit[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

function layoutOf(text: string): JsonNode {
  try {
    return jsoncLayout(text);
  } catch (err) {
    if (JsoncLayoutError.is(err, 'too-deep')) throw new McpConfigError('too-deep', `${err.message}; it was left as it is`);
    if (JsoncLayoutError.is(err)) throw new McpConfigError('unreadable', `not JSON this can follow (${err.message}); it was left as it is`);
    throw err;
  }
}

/** The one member named `key`, refusing a file that names it twice. */
function single(node: JsonNode, key: string, where: string): JsonNode | undefined {
  const found = membersNamed(node, key);
  if (found.length > 1) throw new McpConfigError('duplicate', `${where} names ${printableName(key)} ${found.length} times; clients disagree on which one counts, so it was left as it is`);
  return found[0]?.value;
}

/** The edit adding the token input to VS Code's `inputs`, unless it is there. */
function vscodeInputEdit(text: string, root: JsonNode & { kind: 'object' }, f: Format): Edit | undefined {
  const inputs = single(root, 'inputs', 'the file');
  if (inputs === undefined) {
    const last = root.members[root.members.length - 1]!.value;
    const indent = indentAt(text, last.start);
    return { start: last.end, end: last.end, text: `,${f.eol}${indent}"inputs": ${formatValue([VSCODE_INPUT], f, indent, false)}` };
  }
  if (inputs.kind !== 'array') throw new McpConfigError('not-an-object', '"inputs" is not an array; it was left as it is');
  if (inputs.items.some((item) => item.kind === 'object' && membersNamed(item, 'id').some((m) => m.value.kind === 'string' && m.value.value === VSCODE_TOKEN_INPUT))) return undefined;
  const last = inputs.items[inputs.items.length - 1];
  if (last === undefined) {
    const indent = indentAt(text, inputs.start);
    return { start: inputs.start, end: inputs.end, text: formatValue([VSCODE_INPUT], f, indent, false) };
  }
  const oneLine = !/[\r\n]/.test(text.slice(inputs.start, inputs.end));
  const indent = indentAt(text, last.start);
  return { start: last.end, end: last.end, text: oneLine ? `, ${formatValue(VSCODE_INPUT, f, indent, true)}` : `,${f.eol}${indent}${formatValue(VSCODE_INPUT, f, indent, false)}` };
}

/** Rewrites a JSON-configured client's governed servers to go through the gateway. */
export function rewriteJsonMcpConfig(client: Exclude<McpClient, 'codex'>, text: string, o: McpRewriteOptions): McpRewrite {
  const c = JSON_CLIENTS[client];
  const none: McpRewrite = { text, changes: [], notGoverned: [], alreadyRouted: [] };
  if (text.replace(/^\ufeff/, '').trim() === '') return none;
  const root = layoutOf(text);
  if (root.kind !== 'object') throw new McpConfigError('not-an-object', `the file holds ${root.kind === 'array' ? 'an array' : `a ${root.kind}`}, not an object; it was left as it is`);
  const section = single(root, c.section, 'the file');
  if (section === undefined) return none;
  if (section.kind !== 'object') throw new McpConfigError('not-an-object', `"${c.section}" is not an object; it was left as it is`);
  const f = formatOf(text);
  const seen = new Set<string>();
  const edits: Edit[] = [];
  const changes: McpServerChange[] = [];
  const notGoverned: string[] = [];
  const alreadyRouted: string[] = [];
  for (const member of section.members) {
    if (seen.has(member.key)) throw new McpConfigError('duplicate', `"${c.section}" names the server ${printableName(member.key)} twice; clients disagree on which one counts, so it was left as it is`);
    seen.add(member.key);
    if (!o.governed.has(member.key)) {
      notGoverned.push(member.key);
      continue;
    }
    const entry = member.value;
    if (entry.kind !== 'object') throw new McpConfigError('not-an-object', `the server ${member.key} is not an object; it was left as it is`);
    const url = gatewayUrl(o.proxyUrl, member.key);
    const current = plainValue(entry) as Record<string, unknown>;
    if (current[c.urlKey] === url) {
      alreadyRouted.push(member.key);
      continue;
    }
    const next = c.entry(url);
    for (const key of c.kept) if (key in current) next[key] = current[key];
    const oneLine = !/[\r\n]/.test(text.slice(entry.start, entry.end));
    edits.push({ start: entry.start, end: entry.end, text: formatValue(next, f, indentAt(text, entry.start), oneLine) });
    changes.push({ server: member.key, before: describeEntry(current), after: `http ${url}` });
  }
  if (client === 'vscode' && changes.length > 0) {
    const input = vscodeInputEdit(text, root, f);
    if (input) edits.push(input);
  }
  return { text: applyEdits(text, edits), changes, notGoverned, alreadyRouted };
}
