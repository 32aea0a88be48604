import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { AgentName, AgentSetup } from '../agents/agents';
import { AGENT_NAMES, agentSetup, codexBaseUrl, DEFAULT_PROXY_URL, isAgentChoice, proxyBase, shellQuote } from '../agents/agents';
import { CODEX_KEY_ENV, CodexConfigError, codexProviderState, setUpCodexProvider } from '../agents/codex-config';
import type { CodexFileChange } from '../agents/codex-home';
import { codexHome, readCodexProvider, removeCodexFile, setUpCodexForProxy } from '../agents/codex-home';
import { McpConfigError, printableName } from '../agents/mcp-config-error';
import type { McpFilePlan, McpUndoResult } from '../agents/mcp-files';
import { applyMcpPlan, mcpConfigLocations, planMcpFile, undoMcpFile } from '../agents/mcp-files';
import type { McpClient } from '../agents/mcp-routing';
import { gatewayUrl, MCP_CLIENT_TITLES, MCP_CLIENTS, MCP_TOKEN_ENV, VSCODE_TOKEN_INPUT } from '../agents/mcp-routing';
import { formatIssue, loadPolicy } from '../engine/policy/loader';
import { mintSessionToken } from '../engine/identity/tokens';
import { registeredStyles } from '../providers/registry';
import { DataDirError, resolveDataDir } from '../store/data-dir';
import { referencePolicyPath } from '../store/reference-policy';
import { loadSessionKeys } from '../store/session-key';
import { commandSpec, parseCommandArgs, parseDurationArg } from './args';
import type { CommandRunner } from './io';
import { UsageError } from './io';

const ACTIONS = ['show', 'setup', 'remove'] as const;
type Action = (typeof ACTIONS)[number];

interface CodexReport {
  readonly file: string;
  readonly defined: boolean;
  readonly selected: boolean;
  readonly baseUrl?: string;
  /** The provider is defined, selected and points at this proxy. */
  readonly current: boolean;
  readonly changed?: boolean;
}

interface AgentReport extends Partial<AgentSetup> {
  readonly agent: AgentName;
  readonly codex?: CodexReport;
}

/** The target `vscode` routes VS Code's MCP servers only: it has no model settings of its own here. */
const MCP_ONLY = 'vscode';

function parseTarget(positionals: string[]): { action: Action; agents: AgentName[]; mcp: McpClient[] } {
  const [first, ...rest] = positionals;
  const named = first !== undefined && (ACTIONS as readonly string[]).includes(first);
  const action: Action = named ? (first as Action) : 'show';
  const [agent, extra] = named ? rest : positionals;
  if (extra !== undefined) throw new UsageError(`unexpected '${extra}': name one agent or all`);
  if (agent === undefined || agent === 'all') return { action, agents: [...AGENT_NAMES], mcp: [...MCP_CLIENTS] };
  if (agent === MCP_ONLY && action !== 'show') return { action, agents: [], mcp: ['vscode'] };
  if (!isAgentChoice(agent)) throw new UsageError(`unknown ${named ? 'agent' : 'action or agent'} '${agent}': use ${ACTIONS.join(', ')} then ${AGENT_NAMES.join(', ')} or all (setup and remove also take ${MCP_ONLY})`);
  return { action, agents: [agent], mcp: [agent] };
}

function codexReport(change: { file: string; state: { defined: boolean; selected: boolean; baseUrl?: string } }, base: string, changed?: boolean): CodexReport {
  const { defined, selected, baseUrl } = change.state;
  return { file: change.file, defined, selected, baseUrl, current: defined && selected && baseUrl === codexBaseUrl(base), changed };
}

function codexLines(r: CodexReport, action: Action): string[] {
  if (action === 'remove') return [r.changed ? `# removed the tollgate provider from ${r.file}` : `# ${r.file} has no tollgate provider; nothing to remove`];
  if (action === 'setup') return [r.changed ? `# set up the tollgate provider in ${r.file} (base_url ${r.baseUrl ?? '?'}) and selected it` : `# ${r.file} was already set up for this proxy`];
  if (r.current) return [`# ${r.file} selects the tollgate provider (base_url ${r.baseUrl ?? '?'})`];
  if (r.defined) return [`# ${r.file} has a tollgate provider${r.selected ? '' : ' but does not select it'}${r.baseUrl && r.selected ? ` pointing at ${r.baseUrl}` : ''}: run tollgate agents setup codex`];
  return [`# not set up in ${r.file}: run tollgate agents setup codex`];
}

export const agentsSpec = commandSpec({
  name: 'agents',
  summary: 'Point Claude Code, Codex and Gemini CLI at the proxy: show prints shell exports with a session token per agent, setup and remove change what the agent reads from disk (Codex\'s config.toml, and each agent\'s MCP servers through the gateway).',
  positionals: `[${ACTIONS.join('|')}] [${AGENT_NAMES.join('|')}|${MCP_ONLY}|all]`,
  options: {
    user: { type: 'string', value: 'U', description: 'the person the agents call for (required by show)' },
    role: { type: 'string', multiple: true, value: 'R', description: 'a role the person holds (repeat for several)' },
    ttl: { type: 'string', default: '8h', value: 'DURATION', description: "how long each agent's token is valid" },
    url: { type: 'string', value: 'URL', description: `the proxy (default: $TOLLGATE_PROXY_URL, else ${DEFAULT_PROXY_URL})` },
    'data-dir': { type: 'string', value: 'DIR', description: "the data dir holding the session key (the same one serve uses) and setup's undo records" },
    'codex-home': { type: 'string', value: 'DIR', description: "Codex's home (default: $CODEX_HOME, else ~/.codex)" },
    policy: { type: 'string', value: 'FILE', description: 'setup: the bundle whose mcp.servers go through the gateway (default: the reference bundle)' },
    workspace: { type: 'string', value: 'DIR', description: 'the project holding .mcp.json, .vscode/mcp.json and .gemini/settings.json (default: the current directory)' },
    'dry-run': { type: 'boolean', description: 'setup: print the plan and write nothing' },
    yes: { type: 'boolean', short: 'y', description: 'setup: apply the plan without asking' },
    format: { type: 'string', default: 'text', value: 'text|json', description: 'text is shell (comments and exports); json for tools' },
  },
  notes: [
    `setup also rewrites each MCP server the bundle names (same name) in .mcp.json, .vscode/mcp.json, .gemini/settings.json and Codex's config.toml to the gateway (<proxy>/mcp/<name>), the token read from $${MCP_TOKEN_ENV} (Codex: $${CODEX_KEY_ENV}; VS Code asks once): it shows the plan and asks first (--yes applies it, --dry-run only shows it). remove gives each file back as it was, unless it changed since.`,
  ],
  examples: ['eval "$(tollgate agents show claude-code --user you@acme.dev)"', 'tollgate agents setup all --policy team.yaml --dry-run'],
});

/**
 * `tollgate agents [show|setup|remove] [claude-code|codex|gemini-cli|all] [options]`
 * Text output is shell (comments and exports), so `eval "$(tollgate agents show --user U)"` applies it.
 */
export const run: CommandRunner = async (argv, io) => {
  const { values, positionals } = parseCommandArgs(argv, agentsSpec, true);
  const { action, agents, mcp } = parseTarget(positionals);
  if (values.format !== 'text' && values.format !== 'json') throw new UsageError(`invalid --format '${values.format}': use text or json`);
  let base: string;
  try {
    base = proxyBase(values.url ?? io.env.TOLLGATE_PROXY_URL ?? DEFAULT_PROXY_URL);
  } catch (err) {
    throw new UsageError(`--url: ${(err as Error).message}`);
  }
  if (action === 'show' && !values.user) throw new UsageError('--user is required (each agent gets a session token for that person)');
  if (action !== 'setup' && (values['dry-run'] || values.yes || values.policy)) throw new UsageError('--dry-run, --yes and --policy go with setup');
  const ttlMs = parseDurationArg(values.ttl ?? '8h', '--ttl');
  const home = codexHome(values['codex-home'] ? { CODEX_HOME: values['codex-home'] } : io.env);
  const dataDir = resolveDataDir(values['data-dir'], io.env);
  const locations = mcpConfigLocations(path.resolve(io.cwd, values.workspace ?? '.'), home);
  const fail = (file: string, err: unknown): number => {
    // A file it may not read or write is as unusable as one it cannot follow: exit 1, not a usage error.
    if (!CodexConfigError.is(err) && !McpConfigError.is(err) && typeof (err as NodeJS.ErrnoException).code !== 'string') throw err;
    io.stderr.write(`tollgate agents: ${McpConfigError.is(err) ? '' : `${file}: `}${(err as Error).message}\n`);
    return 1;
  };

  let tokenFor: ((agent: AgentName) => Promise<string>) | undefined;
  if (values.user && action !== 'remove') {
    const user = values.user;
    let keys: ReturnType<typeof loadSessionKeys>;
    try {
      keys = loadSessionKeys(dataDir);
    } catch (err) {
      if (!DataDirError.is(err)) throw err;
      io.stderr.write(`tollgate agents: ${err.message}\n`);
      return 1;
    }
    // Each agent's token carries its name, so its calls are attributed to it.
    tokenFor = (agent) => mintSessionToken(keys, { user, agent, roles: values.role, ttlMs, now: Date.now() });
  }

  // MCP servers: planned (setup) or given back (remove) before Codex's provider is touched, so
  // nothing is written when one file cannot be followed or the person says no.
  const dryRun = values['dry-run'] === true;
  const plans: McpFilePlan[] = [];
  const undone: McpUndoResult[] = [];
  if (action === 'setup') {
    const governed = loadGovernedServers(values.policy, io);
    if (governed === undefined) return 1;
    const prepare = (client: McpClient, text: string): string => (client === 'codex' ? setUpCodexProvider(text, { baseUrl: codexBaseUrl(base) }) : text);
    const failures: number[] = [];
    for (const client of mcp) {
      try {
        plans.push(planMcpFile(locations[client], { governed, proxyUrl: base, dataDir, prepare }));
      } catch (err) {
        failures.push(fail(locations[client].file, err));
      }
    }
    if (failures.length > 0) return 1;
    const pending = plans.filter((p) => p.writes);
    if (values.format === 'text') io.stdout.write(mcpPlanText(plans, base, dryRun));
    if (dryRun) {
      if (values.format === 'json') io.stdout.write(`${JSON.stringify({ action, proxy: base, dryRun: true, mcp: plans.map(mcpPlanJson) }, null, 2)}\n`);
      return 0;
    }
    if (pending.length > 0 && values.yes !== true) {
      const servers = pending.reduce((n, p) => n + (p.rewrite?.changes.length ?? 0), 0);
      const approved = await ask(io, `Rewrite ${servers} MCP server${servers === 1 ? '' : 's'} in ${pending.length} file${pending.length === 1 ? '' : 's'} to go through the gateway? [y/N] `);
      if (approved !== true) {
        if (values.format === 'json') io.stdout.write(`${JSON.stringify({ action, proxy: base, applied: false, mcp: plans.map(mcpPlanJson) }, null, 2)}\n`);
        io.stderr.write(approved === false ? 'tollgate agents: nothing was written\n' : 'tollgate agents: the plan above needs your approval; nothing was written: run again with --yes to apply it (--dry-run only shows it)\n');
        return 1;
      }
    }
    for (const plan of pending) {
      try {
        applyMcpPlan(plan, dataDir, locations[plan.client]);
      } catch (err) {
        return fail(plan.file, err);
      }
    }
  } else if (action === 'remove') {
    for (const client of mcp) {
      try {
        undone.push(undoMcpFile(locations[client], dataDir));
      } catch (err) {
        return fail(locations[client].file, err);
      }
    }
  }

  const reports: AgentReport[] = [];
  for (const agent of agents) {
    let codex: CodexReport | undefined;
    if (agent === 'codex') {
      const mcpPlan = plans.find((p) => p.client === 'codex' && p.writes);
      let change: CodexFileChange | ReturnType<typeof readCodexProvider>;
      // Giving back Codex's MCP servers gave back the file before setup, its provider gone with them.
      const restored = undone.some((u) => u.client === 'codex' && u.outcome === 'restored');
      try {
        // A rewrite of Codex's MCP servers wrote its provider with them.
        change = mcpPlan?.text !== undefined
          ? { file: mcpPlan.file, changed: true, state: codexProviderState(mcpPlan.text) }
          : action === 'setup' ? setUpCodexForProxy(home, base) : action === 'remove' ? removeCodexFile(home) : readCodexProvider(home);
      } catch (err) {
        return fail(path.join(home, 'config.toml'), err);
      }
      codex = codexReport(change, base, 'changed' in change ? change.changed || restored : undefined);
    }
    const setup = tokenFor ? agentSetup(agent, base, await tokenFor(agent)) : undefined;
    reports.push({ ...setup, agent, codex });
  }

  const unrestored = undone.filter((u) => u.outcome === 'changed');
  if (values.format === 'json') {
    const mcpJson = action === 'setup' ? { mcp: plans.map(mcpPlanJson) } : action === 'remove' ? { mcp: undone } : {};
    io.stdout.write(`${JSON.stringify({ action, proxy: base, agents: reports, ...mcpJson }, null, 2)}\n`);
    return unrestored.length > 0 ? 1 : 0;
  }
  if (action === 'remove') io.stdout.write(undoText(undone));
  if (reports.length > 0) io.stdout.write(textReport(action, reports));
  for (const u of unrestored) io.stderr.write(`tollgate agents: ${u.file} changed since setup (${u.detail ?? '?'}); it was left as it is: put back what setup wrote, or restore its entries by hand\n`);
  return unrestored.length > 0 ? 1 : 0;
};

/** The server names the bundle's mcp.servers holds; undefined (after saying why) when it does not load. */
function loadGovernedServers(policyFlag: string | undefined, io: Parameters<CommandRunner>[1]): ReadonlySet<string> | undefined {
  const file = path.resolve(io.cwd, policyFlag ?? referencePolicyPath());
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    io.stderr.write(`tollgate agents: cannot read policy ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
    return undefined;
  }
  const loaded = loadPolicy(text, Date.now(), registeredStyles());
  if (!loaded.ok) {
    for (const e of loaded.errors) io.stderr.write(`${formatIssue(file, e)}\n`);
    io.stderr.write('tollgate agents: the policy does not load; nothing was written\n');
    return undefined;
  }
  return new Set(loaded.policy.mcp?.servers.keys() ?? []);
}

/**
 * The person's answer, asked on stderr: true for yes, false for anything else, undefined when
 * nobody can be asked (stdin is not a terminal: a script passes --yes).
 */
async function ask(io: Parameters<CommandRunner>[1], question: string): Promise<boolean | undefined> {
  if (!io.stdinIsTTY || !io.stdin) return undefined;
  io.stderr.write(question);
  const rl = readline.createInterface({ input: io.stdin, terminal: false });
  try {
    const line = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    return /^\s*y(es)?\s*$/i.test(line);
  } finally {
    rl.close();
  }
}

/** How each client's gateway entry carries the token. */
const TOKEN_SOURCE: Readonly<Record<McpClient, string>> = {
  'claude-code': `token from $${MCP_TOKEN_ENV}`,
  vscode: `token asked once, input ${VSCODE_TOKEN_INPUT}`,
  codex: `token from $${CODEX_KEY_ENV}`,
  'gemini-cli': `token from $${MCP_TOKEN_ENV}`,
};

function mcpPlanText(plans: readonly McpFilePlan[], base: string, dryRun: boolean): string {
  const lines = [`# MCP servers the bundle names go through the gateway (${gatewayUrl(base, 'NAME').replace('NAME', '<name>')})${dryRun ? '; dry run, nothing is written' : ''}`];
  for (const p of plans) {
    const title = `${MCP_CLIENT_TITLES[p.client]}: ${p.file}`;
    if (!p.exists || !p.rewrite) {
      lines.push(`# ${title}: no such file`);
      continue;
    }
    const r = p.rewrite;
    if (r.changes.length + r.notGoverned.length + r.alreadyRouted.length === 0) {
      lines.push(`# ${title}: no MCP servers`);
      continue;
    }
    lines.push(`# ${title}`);
    for (const c of r.changes) lines.push(`#   ${c.server}: ${c.before} -> ${c.after} (${TOKEN_SOURCE[p.client]})`);
    for (const n of r.alreadyRouted) lines.push(`#   ${n}: already through the gateway`);
    for (const n of r.notGoverned) lines.push(`#   ${printableName(n)}: not governed (the bundle does not name it), left as it is`);
  }
  if (plans.some((p) => (p.client === 'claude-code' || p.client === 'gemini-cli') && (p.rewrite?.changes.length ?? 0) > 0)) {
    lines.push(`# Claude Code and Gemini CLI send $${MCP_TOKEN_ENV} to the gateway: export ${MCP_TOKEN_ENV}="$(tollgate token --user YOU --agent claude-code)" in the shell they start from`);
  }
  return `${lines.join('\n')}\n\n`;
}

function mcpPlanJson(p: McpFilePlan): object {
  return { client: p.client, file: p.file, exists: p.exists, writes: p.writes, changes: p.rewrite?.changes ?? [], notGoverned: p.rewrite?.notGoverned ?? [], alreadyRouted: p.rewrite?.alreadyRouted ?? [] };
}

function undoText(results: readonly McpUndoResult[]): string {
  const lines = results.map((u) => {
    const title = `${MCP_CLIENT_TITLES[u.client]}: ${u.file}`;
    if (u.outcome === 'restored') return `# ${title}: MCP servers given back as they were before setup`;
    if (u.outcome === 'changed') return `# ${title}: changed since setup (${u.detail ?? '?'}), left as it is`;
    return `# ${title}: no MCP servers set up here, nothing to give back`;
  });
  return lines.length > 0 ? `${lines.join('\n')}\n\n` : '';
}

function textReport(action: Action, reports: readonly AgentReport[]): string {
  const blocks = reports.map((r) => {
    // Names and variables come from the agent's setup; a token is only there when one was minted.
    const known = agentSetup(r.agent, DEFAULT_PROXY_URL, '-');
    const lines = [`# ${known.title}`];
    if (r.codex) lines.push(...codexLines(r.codex, action));
    if (action === 'remove') {
      lines.push(`unset ${Object.keys(known.env).join(' ')}`);
    } else if (r.env) {
      if (!r.codex?.current) lines.push(...(r.notes ?? []).map((n) => `# ${n}`));
      lines.push(...Object.entries(r.env).map(([k, v]) => `export ${k}=${shellQuote(v)}`));
    } else {
      lines.push(`# It reads its session token from the environment: eval "$(tollgate agents show ${r.agent} --user YOU)"`);
    }
    return lines.join('\n');
  });
  return `${blocks.join('\n\n')}\n`;
}
