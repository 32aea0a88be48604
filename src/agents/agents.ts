import type { StyleName } from '../contracts/call';
import { CODEX_KEY_ENV } from './codex-config';

// What each coding agent needs to send its calls through the proxy. Claude Code and Gemini CLI read
// environment variables; Codex ignores OPENAI_BASE_URL and needs a model provider in its
// config.toml (codex-config.ts), plus the variable that provider names for its key.

export const AGENT_NAMES = ['claude-code', 'codex', 'gemini-cli'] as const;
export type AgentName = (typeof AGENT_NAMES)[number];

export function isAgentChoice(name: string): name is AgentName {
  return (AGENT_NAMES as readonly string[]).includes(name);
}

export interface AgentSetup {
  readonly agent: AgentName;
  /** How people call it. */
  readonly title: string;
  /** Variables to set in the shell the agent runs from; the token is the agent's own session token. */
  readonly env: Readonly<Record<string, string>>;
  /** Settings the agent needs beyond its environment, said in words. */
  readonly notes: readonly string[];
}

/** The default proxy address: `tollgate serve`'s default port on loopback. */
export const DEFAULT_PROXY_URL = 'http://127.0.0.1:8787';

/** The proxy URL without trailing slashes; refuses anything but an http(s) URL. */
export function proxyBase(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`'${url}' is not a URL (http://127.0.0.1:8787)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError(`'${url}' is not an http or https URL`);
  if (parsed.search || parsed.hash || parsed.username || parsed.password) throw new TypeError(`'${url}' must be the proxy's address alone, without credentials, query or fragment`);
  return parsed.href.replace(/\/+$/, '');
}

/** Codex's provider base URL: the proxy's OpenAI route, with the /v1 its client expects. */
export function codexBaseUrl(proxyUrl: string): string {
  return `${proxyBase(proxyUrl)}/openai/v1`;
}

/** The provider style each agent speaks, reached at the proxy's provider of that name. */
export const AGENT_STYLES: Readonly<Record<AgentName, StyleName>> = { 'claude-code': 'anthropic', codex: 'openai', 'gemini-cli': 'gemini' };

/** The header naming the agent to the proxy (a sub-identity of the token's person). */
export const AGENT_HEADER = 'x-tollgate-agent';

/**
 * What sends an agent's calls through the proxy with `token`: its base-URL and key variables. Codex
 * has only its key here; its base URL is in the config.toml provider (codex-config.ts).
 */
export function agentRouting(agent: AgentName, proxyUrl: string, token: string): Readonly<Record<string, string>> {
  const base = proxyBase(proxyUrl);
  switch (agent) {
    case 'claude-code':
      return { ANTHROPIC_BASE_URL: `${base}/anthropic`, ANTHROPIC_API_KEY: token };
    case 'codex':
      return { [CODEX_KEY_ENV]: token };
    case 'gemini-cli':
      return { GOOGLE_GEMINI_BASE_URL: `${base}/gemini`, GEMINI_API_KEY: token };
  }
}

/**
 * How an agent names itself when its token is shared (the editor's terminals hold the developer's
 * session token, not one minted per agent): the variable from which it adds request headers, set
 * to the agent header. Claude Code reads `ANTHROPIC_CUSTOM_HEADERS` (one `Name: value` a line),
 * Gemini CLI `GEMINI_CLI_CUSTOM_HEADERS` (comma-separated); the SDKs read neither, so a program
 * in the same terminal is not taken for the agent. Codex's provider sends the header itself
 * (`http_headers` in config.toml).
 */
export function agentHeaderEnvironment(agent: AgentName): Readonly<Record<string, string>> {
  switch (agent) {
    case 'claude-code':
      return { ANTHROPIC_CUSTOM_HEADERS: `${AGENT_HEADER}: ${agent}` };
    case 'codex':
      return {};
    case 'gemini-cli':
      return { GEMINI_CLI_CUSTOM_HEADERS: `${AGENT_HEADER}: ${agent}` };
  }
}

/**
 * The variables for a shell every agent shares with one token: each agent's routing and the header
 * naming it, for the agents whose style `serves` says the proxy serves. Switches that change an
 * agent's own behaviour (Claude Code's non-essential traffic) stay out: `tollgate agents show`
 * prints them for a shell set up for the agent, but in every terminal they are the person's choice.
 */
export function sharedAgentEnvironment(proxyUrl: string, token: string, serves: (style: StyleName) => boolean): Readonly<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const agent of AGENT_NAMES) {
    if (serves(AGENT_STYLES[agent])) Object.assign(env, agentRouting(agent, proxyUrl, token), agentHeaderEnvironment(agent));
  }
  return env;
}

/** The settings for one agent, given the proxy's address and a session token minted for that agent. */
export function agentSetup(agent: AgentName, proxyUrl: string, token: string): AgentSetup {
  const base = proxyBase(proxyUrl);
  switch (agent) {
    case 'claude-code':
      return {
        agent, title: 'Claude Code',
        // Its token names the agent, so no header is needed; non-essential traffic (telemetry,
        // error reports, update checks) would go around the proxy to the internet.
        env: { ...agentRouting(agent, base, token), CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' },
        notes: ['With ANTHROPIC_API_KEY set, an interactive session asks once whether to use that key: answer yes.'],
      };
    case 'codex':
      return {
        agent, title: 'Codex',
        env: agentRouting(agent, base, token),
        notes: [`Codex ignores OPENAI_BASE_URL: \`tollgate agents setup codex\` adds a "tollgate" model provider (base_url ${codexBaseUrl(base)}, env_key ${CODEX_KEY_ENV}, wire_api "responses") to $CODEX_HOME/config.toml (default ~/.codex) and selects it.`],
      };
    case 'gemini-cli':
      return {
        agent, title: 'Gemini CLI',
        env: agentRouting(agent, base, token),
        notes: ['Gemini CLI must use an API key: in ~/.gemini/settings.json, {"security":{"auth":{"selectedType":"gemini-api-key"}}} (or pick "Use Gemini API key" in /auth).'],
      };
  }
}

/** A value quoted for a POSIX shell. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
