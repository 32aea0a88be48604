import * as path from 'node:path';
import type { AgentName, AgentSetup } from '../agents/agents';
import { AGENT_NAMES, agentSetup, codexBaseUrl, DEFAULT_PROXY_URL, isAgentChoice, proxyBase, shellQuote } from '../agents/agents';
import { CodexConfigError } from '../agents/codex-config';
import type { CodexFileChange } from '../agents/codex-home';
import { codexHome, readCodexProvider, removeCodexFile, setUpCodexForProxy } from '../agents/codex-home';
import { mintSessionToken } from '../engine/identity/tokens';
import { DataDirError, resolveDataDir } from '../store/data-dir';
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

function parseTarget(positionals: string[]): { action: Action; agents: AgentName[] } {
  const [first, ...rest] = positionals;
  const named = first !== undefined && (ACTIONS as readonly string[]).includes(first);
  const action: Action = named ? (first as Action) : 'show';
  const [agent, extra] = named ? rest : positionals;
  if (extra !== undefined) throw new UsageError(`unexpected '${extra}': name one agent or all`);
  if (agent === undefined || agent === 'all') return { action, agents: [...AGENT_NAMES] };
  if (!isAgentChoice(agent)) throw new UsageError(`unknown ${named ? 'agent' : 'action or agent'} '${agent}': use ${ACTIONS.join(', ')} then ${AGENT_NAMES.join(', ')} or all`);
  return { action, agents: [agent] };
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
  summary: 'Point Claude Code, Codex and Gemini CLI at the proxy: show prints shell exports with a session token per agent, setup and remove change what the agent reads from disk (Codex\'s config.toml).',
  positionals: `[${ACTIONS.join('|')}] [${AGENT_NAMES.join('|')}|all]`,
  options: {
    user: { type: 'string', value: 'U', description: 'the person the agents call for (required by show)' },
    role: { type: 'string', multiple: true, value: 'R', description: 'a role the person holds (repeat for several)' },
    ttl: { type: 'string', default: '8h', value: 'DURATION', description: "how long each agent's token is valid" },
    url: { type: 'string', value: 'URL', description: `the proxy (default: $TOLLGATE_PROXY_URL, else ${DEFAULT_PROXY_URL})` },
    'data-dir': { type: 'string', value: 'DIR', description: 'the data dir holding the session key (the same one serve uses)' },
    'codex-home': { type: 'string', value: 'DIR', description: "Codex's home (default: $CODEX_HOME, else ~/.codex)" },
    format: { type: 'string', default: 'text', value: 'text|json', description: 'text is shell (comments and exports); json for tools' },
  },
  examples: ['eval "$(tollgate agents show claude-code --user you@acme.dev)"'],
});

/**
 * `tollgate agents [show|setup|remove] [claude-code|codex|gemini-cli|all] [options]`
 * Text output is shell (comments and exports), so `eval "$(tollgate agents show --user U)"` applies it.
 */
export const run: CommandRunner = async (argv, io) => {
  const { values, positionals } = parseCommandArgs(argv, agentsSpec, true);
  const { action, agents } = parseTarget(positionals);
  if (values.format !== 'text' && values.format !== 'json') throw new UsageError(`invalid --format '${values.format}': use text or json`);
  let base: string;
  try {
    base = proxyBase(values.url ?? io.env.TOLLGATE_PROXY_URL ?? DEFAULT_PROXY_URL);
  } catch (err) {
    throw new UsageError(`--url: ${(err as Error).message}`);
  }
  if (action === 'show' && !values.user) throw new UsageError('--user is required (each agent gets a session token for that person)');
  const ttlMs = parseDurationArg(values.ttl ?? '8h', '--ttl');
  const home = codexHome(values['codex-home'] ? { CODEX_HOME: values['codex-home'] } : io.env);

  let tokenFor: ((agent: AgentName) => Promise<string>) | undefined;
  if (values.user && action !== 'remove') {
    const user = values.user;
    let keys: ReturnType<typeof loadSessionKeys>;
    try {
      keys = loadSessionKeys(resolveDataDir(values['data-dir'], io.env));
    } catch (err) {
      if (!DataDirError.is(err)) throw err;
      io.stderr.write(`tollgate agents: ${err.message}\n`);
      return 1;
    }
    // Each agent's token carries its name, so its calls are attributed to it.
    tokenFor = (agent) => mintSessionToken(keys, { user, agent, roles: values.role, ttlMs, now: Date.now() });
  }

  const reports: AgentReport[] = [];
  for (const agent of agents) {
    let codex: CodexReport | undefined;
    if (agent === 'codex') {
      let change: CodexFileChange | ReturnType<typeof readCodexProvider>;
      try {
        change = action === 'setup' ? setUpCodexForProxy(home, base) : action === 'remove' ? removeCodexFile(home) : readCodexProvider(home);
      } catch (err) {
        // A file it may not read or write is as unusable as one it cannot follow: exit 1, not a usage error.
        if (!CodexConfigError.is(err) && typeof (err as NodeJS.ErrnoException).code !== 'string') throw err;
        io.stderr.write(`tollgate agents: ${path.join(home, 'config.toml')}: ${(err as Error).message}\n`);
        return 1;
      }
      codex = codexReport(change, base, 'changed' in change ? change.changed : undefined);
    }
    const setup = tokenFor ? agentSetup(agent, base, await tokenFor(agent)) : undefined;
    reports.push({ ...setup, agent, codex });
  }

  if (values.format === 'json') {
    io.stdout.write(`${JSON.stringify({ action, proxy: base, agents: reports }, null, 2)}\n`);
    return 0;
  }
  io.stdout.write(textReport(action, reports));
  return 0;
};

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
