// What the editor's terminals carry while the developer has no identity. They are still pointed at
// the proxy (never straight at a provider with a key of their own), with this in place of a token:
// the proxy refuses it with a 401 that says how to sign in, whatever the bundle says about
// anonymous calls, so nothing made from such a terminal goes anywhere unattributed.

import { SIGN_IN_COMMAND } from './command-titles';

/** Not a token and not a key: a word the proxy recognises, safe to show in a terminal. */
export const SIGN_IN_PLACEHOLDER = 'tollgate-sign-in-required';

/** The refusal's message, naming the palette command by its title. */
export const SIGN_IN_REQUIRED_MESSAGE = `this editor has no Tollgate identity yet, so its terminals' calls are refused: run "${SIGN_IN_COMMAND.title}" from the command palette (or set tollgate.user or git config user.email), then open a new terminal`;

/**
 * What a coding agent's own key variable holds when the editor's `tollgate.agentScopes` entry for
 * it does not read (or its own token was revoked): the agent is handed no token rather than an
 * unscoped one, and the proxy refuses this word with a message saying so.
 */
export const AGENT_SCOPE_PLACEHOLDER = 'tollgate-agent-scope-invalid';

/** The refusal's message. */
export const AGENT_SCOPE_INVALID_MESSAGE = "the editor hands this agent no token rather than an unscoped one: its tollgate.agentScopes entry cannot be read or applied (the Tollgate log says why), or its own token was revoked; fix the setting or sign in again, then open a new terminal";
