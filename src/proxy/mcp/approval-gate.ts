import type { Identity } from '../../engine/identity/identity';

// Tools the bundle lists under `tools.approval` wait for a person before each call. Every such call
// goes through one gate: the editor brings one that asks in a modal; on the command line and the
// team gateway nobody can be asked, so the default gate refuses.

export interface ApprovalRequest {
  readonly identity: Identity;
  readonly server: string;
  /** The server's own name for the tool. */
  readonly tool: string;
  /** The tool as agents name it (`mcp__<server>__<tool>`). */
  readonly toolName: string;
  /** The call's arguments, redacted by the key scanner's rules: what a person may be shown. */
  readonly arguments: unknown;
  /** sha256 of the canonical JSON of the (unredacted) arguments. */
  readonly argumentsSha256: string;
}

export type ApprovalVerdict =
  | { readonly outcome: 'allowed'; readonly by: string; readonly scope: 'once' | 'session' }
  | { readonly outcome: 'denied'; readonly by: string | null; readonly reason: string }
  | { readonly outcome: 'timeout'; readonly reason: string };

export interface ApprovalGate {
  /** Resolves when a person decided, or when waiting ended; `signal` aborts when the caller left. */
  request(req: ApprovalRequest, signal: AbortSignal): Promise<ApprovalVerdict>;
}

/** Where no person can be asked (command line, team gateway): every call needing approval is refused. */
export class RefusingApprovalGate implements ApprovalGate {
  request(req: ApprovalRequest): Promise<ApprovalVerdict> {
    return Promise.resolve({
      outcome: 'denied',
      by: null,
      reason: `tool '${req.toolName}' needs a person's approval for each call (tools.approval), and no one can approve it here`,
    });
  }
}
