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

/** The settings for one agent, given the proxy's address and a session token minted for that agent. */
export function agentSetup(agent: AgentName, proxyUrl: string, token: string): AgentSetup {
  const base = proxyBase(proxyUrl);
  switch (agent) {
    case 'claude-code':
      return {
        agent, title: 'Claude Code',
        env: { ANTHROPIC_BASE_URL: `${base}/anthropic`, ANTHROPIC_API_KEY: token, CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' },
        notes: ['With ANTHROPIC_API_KEY set, an interactive session asks once whether to use that key: answer yes.'],
      };
    case 'codex':
      return {
        agent, title: 'Codex',
        env: { [CODEX_KEY_ENV]: token },
        notes: [`Codex ignores OPENAI_BASE_URL: \`tollgate agents setup codex\` adds a "tollgate" model provider (base_url ${codexBaseUrl(base)}, env_key ${CODEX_KEY_ENV}, wire_api "responses") to $CODEX_HOME/config.toml (default ~/.codex) and selects it.`],
      };
    case 'gemini-cli':
      return {
        agent, title: 'Gemini CLI',
        env: { GOOGLE_GEMINI_BASE_URL: `${base}/gemini`, GEMINI_API_KEY: token },
        notes: ['Gemini CLI must use an API key: in ~/.gemini/settings.json, {"security":{"auth":{"selectedType":"gemini-api-key"}}} (or pick "Use Gemini API key" in /auth).'],
      };
  }
}

/** A value quoted for a POSIX shell. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
