import type { AgentName } from '../../agents/agents';
import { AGENT_NAMES, agentRouting, sharedAgentEnvironment } from '../../agents/agents';
import { SIGN_IN_COMMAND } from '../../contracts/command-titles';
import { SIGN_IN_PLACEHOLDER } from '../../contracts/sign-in';
import { registeredAdapters } from '../../providers/registry';
import type { IdentityState } from './sign-in';
import { needsSignIn } from './sign-in';

// The environment the editor's terminals and debug sessions get so SDKs and coding agents talk to
// the local proxy: each provider style's base URL pointing at it and the developer's session token
// where its SDKs read an API key (the styles' own variables, src/providers/<style>/adapter.ts), and
// what each coding agent needs beside, with the header naming the agent (src/agents/agents.ts).

/** Variable name to value; TOLLGATE_PROXY_URL is the proxy itself. */
export type ProxyEnvironment = Readonly<Record<string, string>>;

/** Tokens minted for one agent each (or the placeholder refusing it one), by agent. */
export type AgentTokens = Readonly<Partial<Record<AgentName, string>>>;

/** Where an agent reads its key: variables only it reads, and variables the SDKs read too. */
export interface AgentKeyVariables {
  readonly own: readonly string[];
  readonly shared: readonly string[];
}

/**
 * An agent's key variables, split by whether an SDK reads them too. Only an agent's own variable
 * can carry a token of its own: a shared one is also the key of every program in the terminal.
 */
export function agentKeyVariables(agent: AgentName): AgentKeyVariables {
  const mark = 'tollgate-key-mark';
  const sdkKeys = new Set<string>();
  for (const adapter of registeredAdapters()) {
    const { apiKey, otherKeyNames } = adapter.sdkEnvironment('', mark);
    sdkKeys.add(apiKey.name);
    for (const name of otherKeyNames ?? []) sdkKeys.add(name);
  }
  const keys = Object.entries(agentRouting(agent, 'http://127.0.0.1', mark)).filter(([, v]) => v === mark).map(([name]) => name);
  return { own: keys.filter((k) => !sdkKeys.has(k)), shared: keys.filter((k) => sdkKeys.has(k)) };
}

/**
 * Each style is reached at the provider of its own name (`/openai`, `/anthropic`). An agent with a
 * token of its own gets it in its own key variables; shared ones keep the session token.
 */
export function proxyEnvironment(proxyUrl: string, sessionToken: string, agentTokens: AgentTokens = {}): ProxyEnvironment {
  const base = proxyUrl.replace(/\/+$/, '');
  const env: Record<string, string> = {};
  for (const adapter of registeredAdapters()) {
    const { baseUrl, apiKey, others, otherKeyNames } = adapter.sdkEnvironment(`${base}/${adapter.style}`, sessionToken);
    env[baseUrl.name] = baseUrl.value;
    env[apiKey.name] = apiKey.value;
    for (const name of otherKeyNames ?? []) env[name] = apiKey.value;
    for (const v of others ?? []) env[v.name] = v.value;
  }
  const styles = new Set(registeredAdapters().map((a) => a.style));
  Object.assign(env, sharedAgentEnvironment(base, sessionToken, (style) => styles.has(style)));
  for (const agent of AGENT_NAMES) {
    const token = agentTokens[agent];
    if (token === undefined) continue;
    for (const name of agentKeyVariables(agent).own) if (name in env) env[name] = token;
  }
  env.TOLLGATE_PROXY_URL = base;
  return env;
}

function describeEnvironment(): string {
  const vars = registeredAdapters().map((a) => a.sdkEnvironment('', ''));
  const titles = registeredAdapters().map((a) => a.title).join(' and ');
  return `Tollgate points ${titles} SDKs and coding agents at its local proxy (${vars.map((v) => v.baseUrl.name).join(', ')}) and sets ${vars.map((v) => v.apiKey.name).join(' / ')} to your Tollgate session token; the real keys stay in the proxy. Each agent's calls name it (x-tollgate-agent).`;
}

export const environmentDescription = describeEnvironment();

/**
 * What new terminals get now, or undefined to keep what they have (the proxy restarting, the
 * identity not resolved yet). Without an identity they are pointed at the proxy all the same, with
 * the sign-in placeholder where the token goes: their calls are refused with a message saying how
 * to sign in, instead of going around the proxy with whatever key the shell holds. No upstream key
 * is ever part of it: only the proxy's address and the person's own token.
 */
export function terminalEnvironment(proxyUrl: string | undefined, sessionToken: string | undefined, identity: IdentityState, agentTokens: AgentTokens = {}): ProxyEnvironment | undefined {
  if (!proxyUrl) return undefined;
  if (sessionToken) return proxyEnvironment(proxyUrl, sessionToken, agentTokens);
  if (needsSignIn(identity)) return proxyEnvironment(proxyUrl, SIGN_IN_PLACEHOLDER);
  return undefined;
}

/** The terminal's hover while nobody is signed in. */
export const signInEnvironmentDescription = `Tollgate points SDKs and coding agents at its local proxy, but does not know who you are yet: their calls are refused until you sign in ("${SIGN_IN_COMMAND.title}"). Open a new terminal after signing in.`;
