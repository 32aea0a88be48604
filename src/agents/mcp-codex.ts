import { CODEX_AGENT, CODEX_KEY_ENV } from './codex-config';
import { McpConfigError, printableCommand, printableName } from './mcp-config-error';
import type { McpRewrite, McpRewriteOptions, McpServerChange } from './mcp-routing';
import { gatewayUrl } from './mcp-routing';
import type { TomlStatement } from './toml-layout';
import { tomlLayout, tomlString, tomlStringValue } from './toml-layout';

// Codex's MCP servers are `[mcp_servers.<name>]` tables in config.toml. Codex (0.171 and later)
// speaks Streamable HTTP itself (`url`, and `bearer_token_env_var` for the token), so a governed
// server becomes such a table; it reads the token from the variable its Tollgate model provider
// already uses. Only that table (and its transport sub-tables) change; every other byte stays.

const SERVERS = 'mcp_servers';
/** Codex's own settings for a server, whatever its transport: carried over to the new table. */
const KEPT = new Set(['enabled', 'required', 'startup_timeout_sec', 'startup_timeout_ms', 'tool_timeout_sec', 'enabled_tools', 'disabled_tools', 'tools']);
/** Sub-tables that belong to the old transport and go with it. */
const TRANSPORT_TABLES = new Set(['env', 'http_headers', 'env_http_headers']);
const NOTE = '# Through the Tollgate gateway (tollgate agents setup); `tollgate agents remove codex` restores the entry it replaced.';

interface ServerTables {
  /** Index of the `[mcp_servers.<name>]` header, when there is one. */
  main?: number;
  /** Indexes of `[mcp_servers.<name>.<sub>]` headers. */
  readonly subs: number[];
  /** Defined as an inline table or with dotted keys (the line of the first). */
  inlineLine?: number;
}

function isHeader(s: TomlStatement): boolean {
  return s.kind === 'header' || s.kind === 'array-header';
}

/** The index of the last key/value of the table whose header is at `h` (the header itself when it has none). */
function tableEnd(statements: readonly TomlStatement[], h: number): number {
  let last = h;
  for (let i = h + 1; i < statements.length && !isHeader(statements[i]!); i++) if (statements[i]!.kind === 'keyvalue') last = i;
  return last;
}

function describeTable(statements: readonly TomlStatement[], h: number): string {
  let url: string | undefined;
  let command: string | undefined;
  let args = '';
  for (let i = h + 1; i <= tableEnd(statements, h); i++) {
    const s = statements[i]!;
    if (s.kind !== 'keyvalue' || s.path.length !== 1) continue;
    if (s.path[0] === 'url') url = tomlStringValue(s.value ?? '') ?? '?';
    if (s.path[0] === 'command') command = tomlStringValue(s.value ?? '') ?? '?';
    if (s.path[0] === 'args') args = s.value ?? '';
  }
  if (url !== undefined) {
    try {
      const u = new URL(url);
      return `http ${u.origin}${u.pathname}${u.search ? '?...' : ''}`;
    } catch {
      return `http ${printableName(url)}`;
    }
  }
  if (command !== undefined) {
    return `stdio ${printableCommand(`${command} ${args}`)}`;
  }
  return 'no command or url';
}

/** Rewrites Codex's governed MCP servers in a config.toml's text to go through the gateway. */
export function rewriteCodexMcpConfig(text: string, o: McpRewriteOptions): McpRewrite {
  let statements: TomlStatement[];
  try {
    statements = tomlLayout(text);
  } catch (err) {
    throw new McpConfigError('unreadable', `cannot follow the file's TOML (${(err as Error).message}); it was left as it is`);
  }
  const eol = /\r\n/.test(text) ? '\r\n' : '\n';
  const servers = new Map<string, ServerTables>();
  const tablesOf = (name: string): ServerTables => {
    let t = servers.get(name);
    if (!t) servers.set(name, (t = { subs: [] }));
    return t;
  };
  let table: readonly string[] = [];
  statements.forEach((s, i) => {
    if (isHeader(s)) {
      table = s.path;
      if (s.path[0] !== SERVERS) return;
      if (s.kind === 'array-header' && s.path.length <= 2) throw new McpConfigError('conflict', `line ${s.line} declares [[${s.path.join('.')}]], an array, where Codex expects tables; it was left as it is`);
      if (s.path.length === 1) return;
      const t = tablesOf(s.path[1]!);
      if (s.path.length === 2) {
        if (t.main !== undefined) throw new McpConfigError('duplicate', `line ${s.line} declares [${SERVERS}.${printableName(s.path[1]!)}] a second time; it was left as it is`);
        t.main = i;
      } else t.subs.push(i);
      return;
    }
    if (s.kind !== 'keyvalue') return;
    const full = [...table, ...s.path];
    if (full[0] !== SERVERS) return;
    if (full.length === 1) {
      if (o.governed.size > 0) throw new McpConfigError('conflict', `line ${s.line} defines ${SERVERS} as one inline table; write each server as a [${SERVERS}.<name>] table or edit it by hand`);
      return;
    }
    // A key of a `[mcp_servers.<name>]` table (or its sub-tables) is that table's own; anything else defines the server inline.
    if (table.length >= 2) return;
    const t = tablesOf(full[1]!);
    t.inlineLine ??= s.line;
  });

  const edits: { start: number; end: number; text: string }[] = [];
  const changes: McpServerChange[] = [];
  const notGoverned: string[] = [];
  const alreadyRouted: string[] = [];
  for (const [name, t] of servers) {
    if (!o.governed.has(name)) {
      notGoverned.push(name);
      continue;
    }
    if (t.inlineLine !== undefined || t.main === undefined) {
      throw new McpConfigError('conflict', `line ${t.inlineLine ?? statements[t.subs[0]!]!.line} defines the server ${name} ${t.inlineLine !== undefined ? 'inline or with dotted keys' : 'without its own [mcp_servers.' + name + '] table'}; write it as a [${SERVERS}.${name}] table or edit it by hand`);
    }
    const url = gatewayUrl(o.proxyUrl, name);
    const h = t.main;
    const last = tableEnd(statements, h);
    const urlLine = statements.slice(h + 1, last + 1).find((s) => s.kind === 'keyvalue' && s.path.length === 1 && s.path[0] === 'url');
    if (urlLine && tomlStringValue(urlLine.value ?? '') === url) {
      alreadyRouted.push(name);
      continue;
    }
    const header = statements[h]!;
    const headerLine = text.slice(header.start, header.end).replace(/\r?\n$|\r$/, '');
    const kept = statements.slice(h + 1, last + 1).filter((s) => s.kind === 'keyvalue' && KEPT.has(s.path[0]!)).map((s) => text.slice(s.start, s.end).replace(/\r?\n$|\r$/, ''));
    const lines = [headerLine, NOTE, `url = ${tomlString(url)}`, `bearer_token_env_var = ${tomlString(CODEX_KEY_ENV)}`, `http_headers = { ${tomlString('x-tollgate-agent')} = ${tomlString(CODEX_AGENT)} }`, ...kept];
    const end = statements[last]!.end;
    const endsLine = /[\r\n]$/.test(text.slice(0, end));
    edits.push({ start: header.start, end, text: lines.join(eol) + (endsLine ? eol : '') });
    for (const sub of t.subs) {
      const s = statements[sub]!;
      if (!TRANSPORT_TABLES.has(s.path[2]!) || s.path.length !== 3) continue;
      let to = tableEnd(statements, sub) + 1;
      while (statements[to]?.kind === 'blank') to++;
      edits.push({ start: s.start, end: to < statements.length ? statements[to]!.start : text.length, text: '' });
    }
    changes.push({ server: name, before: describeTable(statements, h), after: `http ${url}` });
  }
  let out = text;
  for (const e of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return { text: out, changes, notGoverned, alreadyRouted };
}
