// What the editor tells the developer about their identity as the proxy announces it: a session
// token revoked (from the command line, the team's list, or another window's sign-out) and a
// suspension by guards.divergence of the person or one of their agents, lifted later. The adapter
// shows the notifications and draws the status bar; every decision is here.

import type { AdminEvent, RevocationView, SuspensionView } from '../../contracts/admin';
import { divergenceText } from '../../engine/divergence/suspension';
import type { StatusView } from '../../views/status-model';
import type { HandedToken, WindowTokens } from './window-tokens';

/** The revoked notice's action: signing in again gets a new token. */
export const SIGN_IN_AGAIN = 'Sign In…';
/** The suspension notice's action: the resume command, to hand to whoever may run it. */
export const COPY_RESUME_COMMAND = 'Copy Resume Command';

export type IdentityNotice =
  | { readonly kind: 'revoked'; readonly revocation: RevocationView; readonly tokens: readonly HandedToken[]; readonly message: string }
  | { readonly kind: 'suspended'; readonly suspension: SuspensionView; readonly message: string }
  | { readonly kind: 'resumed'; readonly suspension: SuspensionView; readonly message: string };

function revokedWhat(r: RevocationView): string {
  switch (r.target) {
    case 'token':
      return `token ${r.value}`;
    case 'user':
      return `every token of ${r.value}`;
    case 'agent':
      return `every token of agent '${r.value}'${r.user ? ` of ${r.user}` : ''}`;
    case 'session':
      return `every token of session ${r.value}`;
    case 'key':
      return `every token signed by key ${r.value}`;
  }
}

/**
 * The agents whose own tokens a revocation covers, when it covers none of the window's other
 * tokens; undefined when the window's own token is hit (the whole window then signs out).
 */
export function agentsOnlyRevoked(tokens: readonly HandedToken[], agentTokenIds: ReadonlySet<string>): string[] | undefined {
  if (tokens.length === 0 || tokens.some((t) => t.id === undefined || !agentTokenIds.has(t.id))) return undefined;
  return [...new Set(tokens.map((t) => t.agent ?? 'default'))].sort();
}

/** Says an agent's own token was revoked: the agent is handed no token, the rest of the window goes on. */
export function agentTokenRevokedMessage(r: RevocationView, agents: readonly string[]): string {
  return `Tollgate: the token of ${agents.map((a) => `'${a}'`).join(' and ')} was revoked (${r.id} revoked ${revokedWhat(r)}${r.reason ? `: ${r.reason}` : ''}), so the proxy refuses its calls; new terminals give it no token until you sign in again. Your own session token is unaffected.`;
}

/** Says which revocation, what it covers and why; the token itself is never named, only its id. */
export function revokedMessage(r: RevocationView): string {
  return `Tollgate: your session token was revoked (${r.id} revoked ${revokedWhat(r)}${r.reason ? `: ${r.reason}` : ''}), so the proxy refuses calls made with it, from the terminals too. Sign in again to get a new one, then open a new terminal.`;
}

function whoIsSuspended(s: SuspensionView): string {
  return s.agent === null ? `you (${s.user})` : `your agent '${s.agent}'`;
}

/** Names the guard, the measure and the ratio, and how to resume. */
export function suspensionMessage(s: SuspensionView): string {
  const [whose, whom] = s.agent === null ? ['Your', 'you'] : ['Its', 'it'];
  return `Tollgate: guard '${s.guard}' suspended ${whoIsSuspended(s)}: ${divergenceText(s)}. ${whose} calls are refused until someone who may resume ${whom} runs '${s.resume}' (or resumes ${whom} in the team dashboard); waiting does not lift it.`;
}

export function resumedMessage(s: SuspensionView): string {
  return `Tollgate: the suspension of ${whoIsSuspended(s)} by guard '${s.guard}' is lifted; calls go through again.`;
}

/** The status bar while the person or one of their agents is suspended; undefined otherwise. */
export function suspendedStatusView(suspensions: readonly SuspensionView[]): StatusView | undefined {
  const first = suspensions[0];
  if (!first) return undefined;
  const lines = suspensions.map((s) => `${s.agent === null ? s.user : `agent ${s.agent}`}: ${s.measure}, ${divergenceText(s)}. Resume: ${s.resume}`);
  return { text: '$(debug-pause) Tollgate: suspended', tooltip: `Guard '${first.guard}' suspended calls:\n${lines.join('\n')}`, level: 'error' };
}

/**
 * Follows the admin stream for what concerns this window: revocations of the tokens it handed
 * out, and suspensions of the person signed in (or of their agents).
 */
export class IdentityWatch {
  /** Every suspension the proxy reported, by key; read through the person signed in. */
  private readonly suspended = new Map<string, SuspensionView>();

  constructor(
    private readonly tokens: WindowTokens,
    private readonly user: () => string | undefined,
  ) {}

  /** What an event means for this window, if anything. */
  observe(event: AdminEvent): IdentityNotice | undefined {
    switch (event.type) {
      case 'revocation': {
        const hit = this.tokens.revokedBy(event.revocation);
        this.tokens.forget(hit);
        return hit.length > 0 ? { kind: 'revoked', revocation: event.revocation, tokens: hit, message: revokedMessage(event.revocation) } : undefined;
      }
      case 'suspension': {
        const s = event.suspension;
        const known = this.suspended.has(s.key);
        this.suspended.set(s.key, s);
        return !known && this.concerns(s) ? { kind: 'suspended', suspension: s, message: suspensionMessage(s) } : undefined;
      }
      case 'resumption': {
        const s = event.suspension;
        const known = this.suspended.delete(s.key);
        return known && this.concerns(s) ? { kind: 'resumed', suspension: s, message: resumedMessage(s) } : undefined;
      }
      default:
        return undefined;
    }
  }

  /**
   * The proxy's whole list (on connecting, when events may have been missed): the notices for
   * the person's suspensions not known before; those no longer listed are dropped quietly.
   */
  reset(list: readonly SuspensionView[]): IdentityNotice[] {
    const before = new Set(this.suspended.keys());
    this.suspended.clear();
    for (const s of list) this.suspended.set(s.key, s);
    return list.filter((s) => !before.has(s.key) && this.concerns(s)).map((s) => ({ kind: 'suspended', suspension: s, message: suspensionMessage(s) }));
  }

  /** The suspensions of the person signed in and their agents. */
  suspensions(): SuspensionView[] {
    return [...this.suspended.values()].filter((s) => this.concerns(s));
  }

  private concerns(s: SuspensionView): boolean {
    const user = this.user();
    return user !== undefined && s.user === user.toLowerCase();
  }
}
