import type { ApprovalRecord } from '../../contracts/approvals';
import type { Identity } from '../../engine/identity/identity';

// Tools the bundle lists under `tools.approval` wait for a person before each call. Every such call
// goes through one gate (the approval broker): an approval rule of the bundle, a short-lived
// approval token, or a person asked through the admin API admits it; otherwise it is refused.

export interface ApprovalRequest {
  readonly identity: Identity;
  /** The MCP session asking: what "allow for this session" applies to. */
  readonly session: string | null;
  readonly server: string;
  /** The server's own name for the tool. */
  readonly tool: string;
  /** The tool as agents name it (`mcp__<server>__<tool>`). */
  readonly toolName: string;
  /** The call's arguments, redacted by the key scanner's rules: what a person may be shown. */
  readonly arguments: unknown;
  /** sha256 of the canonical JSON of the (unredacted) arguments. */
  readonly argumentsSha256: string;
  /** The approval token sent with the request (APPROVAL_TOKEN_HEADER), if any. */
  readonly approvalToken?: string;
}

export type ApprovalVerdict =
  | { readonly outcome: 'allowed'; readonly by: string; readonly scope: 'once' | 'session'; readonly via: NonNullable<ApprovalRecord['via']> }
  | { readonly outcome: 'denied'; readonly by: string | null; readonly reason: string }
  | { readonly outcome: 'timeout'; readonly reason: string }
  | { readonly outcome: 'abandoned'; readonly reason: string };

export interface ApprovalGate {
  /** Resolves when a person decided, or when waiting ended; `signal` aborts when the caller left. */
  request(req: ApprovalRequest, signal: AbortSignal): Promise<ApprovalVerdict>;
  /** The MCP session ended: what was allowed for it is forgotten. */
  sessionEnded?(session: string): void;
}

/** The ledger's account of a verdict. */
export function approvalRecordOf(v: ApprovalVerdict): ApprovalRecord {
  switch (v.outcome) {
    case 'allowed':
      return { outcome: 'allowed', by: v.by, via: v.via };
    case 'denied':
      return { outcome: 'denied', by: v.by, via: v.by === null ? null : 'person' };
    case 'timeout':
      return { outcome: 'timeout', by: null, via: null };
    case 'abandoned':
      return { outcome: 'abandoned', by: null, via: null };
  }
}
