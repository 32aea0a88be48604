// The tokens a window mints for the coding agents `tollgate.agentScopes` narrows: each names its
// agent and carries its scope, lives no longer than the window's token, and goes into the agent's
// own key variable. Where the agent has none (its key variable is an SDK's too), the scope cannot
// apply in the terminals and the person is told so; an entry that does not read leaves its agent
// the placeholder, never the window's unscoped token.

import type { AgentName } from '../../agents/agents';
import { AGENT_NAMES } from '../../agents/agents';
import { AGENT_SCOPE_PLACEHOLDER } from '../../contracts/sign-in';
import { mintSessionToken } from '../../engine/identity/tokens';
import type { TokenScope } from '../../engine/identity/token-scope';
import { describeScope } from '../../engine/identity/token-scope';
import { loadSessionKeys } from '../../store/session-key';
import type { AgentScopeSettings } from './agent-scopes';
import { agentTokenTtlMs, refusedAgents } from './agent-scopes';
import type { AgentTokens } from './terminal-env';
import { agentKeyVariables } from './terminal-env';
import { handedTokenOf } from './window-tokens';

/** Signs one agent's token. */
export type AgentTokenMinter = (o: { readonly user: string; readonly agent: AgentName; readonly scope: TokenScope | undefined; readonly ttlMs: number; readonly now: number }) => Promise<string>;

/** Mints from the data dir's session key, as the window's own token is. */
export function sessionKeyMinter(dataDir: string): AgentTokenMinter {
  return (o) => mintSessionToken(loadSessionKeys(dataDir), { user: o.user, agent: o.agent, ttlMs: o.ttlMs, now: o.now, ...(o.scope ? { scope: o.scope } : {}) });
}

/** What the window's token is, for the agents' tokens. */
export interface WindowTokenInfo {
  readonly user: string;
  /** ms since the epoch; the agents' tokens expire no later. */
  readonly expiresAt: number;
  /** Minted by this editor; a pasted identity-provider token cannot be narrowed here. */
  readonly minted: boolean;
}

export interface AgentTokenIssue {
  /** By agent: its own token, or the placeholder refusing it one. */
  readonly tokens: AgentTokens;
  /** What the person must know: entries that do not read, scopes that cannot apply. Never a token. */
  readonly warnings: readonly string[];
  /** One line per token minted, for the log (agent, scope, lifetime; never the token). */
  readonly minted: readonly string[];
}

export async function issueAgentTokens(settings: AgentScopeSettings, window: WindowTokenInfo, mint: AgentTokenMinter, now: number): Promise<AgentTokenIssue> {
  const tokens: Partial<Record<AgentName, string>> = {};
  const warnings: string[] = [];
  const minted: string[] = [];
  const shared = (agent: AgentName): string | undefined => {
    const vars = agentKeyVariables(agent);
    return vars.own.length === 0 ? vars.shared.join(', ') : undefined;
  };
  for (const problem of settings.problems) warnings.push(`${problem.message}.`);
  for (const agent of refusedAgents(settings)) {
    const sharedVars = shared(agent);
    if (sharedVars !== undefined) {
      warnings.push(`${agent} reads its key from ${sharedVars}, which the SDKs in the same terminal read too, so it cannot be refused a token there: it has the window's token until the setting is fixed.`);
      continue;
    }
    tokens[agent] = AGENT_SCOPE_PLACEHOLDER;
    warnings.push(`${agent} is handed no token in new terminals until its entry is fixed: its calls are refused.`);
  }
  const windowTtlMs = window.expiresAt - now;
  for (const entry of settings.scoped) {
    const sharedVars = shared(entry.agent);
    if (sharedVars !== undefined) {
      // Narrowing the shared variable would narrow every program in the terminal; leaving it
      // would widen the agent. Neither is done quietly: the terminals keep the window's token and
      // the person is told the scope does not hold there.
      warnings.push(`tollgate.agentScopes["${entry.agent}"] cannot apply in the editor's terminals: ${entry.agent} reads its key from ${sharedVars}, which the SDKs read too, so it has the window's token there. Run it from a shell with its own token (tollgate token --agent ${entry.agent} and the scope flags).`);
      continue;
    }
    if (!window.minted) {
      tokens[entry.agent] = AGENT_SCOPE_PLACEHOLDER;
      warnings.push(`tollgate.agentScopes["${entry.agent}"]: the window uses a pasted identity-provider token, which the editor cannot narrow, so ${entry.agent} is handed no token in new terminals.`);
      continue;
    }
    if (windowTtlMs <= 0) {
      // The window's token has expired: nothing to mint under it, and nothing wider handed out.
      tokens[entry.agent] = AGENT_SCOPE_PLACEHOLDER;
      continue;
    }
    const ttlMs = agentTokenTtlMs(entry, windowTtlMs);
    tokens[entry.agent] = await mint({ user: window.user, agent: entry.agent, scope: entry.scope, ttlMs, now });
    minted.push(`minted ${entry.agent}'s own token for ${window.user} (${describeScope(entry.scope)}; ${Math.round((ttlMs / 3_600_000) * 100) / 100} h)`);
  }
  return { tokens, warnings, minted };
}

/** How long before its expiry a token of this lifetime is renewed: ten minutes, or a third of a short one. */
function renewalMarginMs(lifetimeMs: number): number {
  return Math.min(10 * 60_000, lifetimeMs / 3);
}

/** True when one of the agents' minted tokens is due for renewal (placeholders never are). */
export function agentTokensNeedRenewal(tokens: AgentTokens, now: number): boolean {
  return AGENT_NAMES.some((agent) => {
    const token = tokens[agent];
    if (token === undefined || token === AGENT_SCOPE_PLACEHOLDER) return false;
    const t = handedTokenOf(token);
    if (!t) return true;
    const lifetime = t.issuedAt !== undefined ? t.expiresAt - t.issuedAt : 8 * 3_600_000;
    return t.expiresAt - now < renewalMarginMs(lifetime);
  });
}
