// Approval gates (`tools.approval`): an MCP tools/call of such a tool waits for a person. The proxy
// holds the call and announces it; whoever may approve answers on the admin API. The editor is one
// such approver (a modal); the command line and the team gateway have none, so there a call is
// admitted only by an approval rule of the bundle or a short-lived approval token, and otherwise
// refused. A call nobody answers within the timeout is refused too.
//
// Served under ADMIN_PREFIX with the admin token, like every admin route:
//   GET  /_tollgate/approvals              -> PendingApprovalsResponse
//   POST /_tollgate/approvals/<id>         <- ApprovalAnswerRequest -> ApprovalAnswerResponse
//   GET  /_tollgate/events?approver=<who>  the event stream; `approver` says this reader asks a person
// and adds `event: approval` (a PendingApproval) and `event: approval-resolved` (an ApprovalResolution).

export const APPROVALS_PATH = '/approvals';

/** Header with a short-lived approval token on an MCP request; `tollgate mcp bridge` sends TOLLGATE_APPROVAL in it. */
export const APPROVAL_TOKEN_HEADER = 'x-tollgate-approval';

/** One call waiting for a person. */
export interface PendingApproval {
  /** Random and unguessable; names the call in the answer. */
  readonly id: string;
  /** Who asks: the verified person, their agent and session. */
  readonly user: string;
  readonly agent: string | null;
  /** The MCP session asking (Mcp-Session-Id): what `allow-session` applies to. */
  readonly session: string | null;
  readonly server: string;
  /** The server's own name for the tool. */
  readonly tool: string;
  /** The tool as agents name it (`mcp__<server>__<tool>`). */
  readonly toolName: string;
  /** The call's arguments, redacted by the key scanner's rules. */
  readonly arguments: unknown;
  readonly argumentsSha256: string;
  /** ISO 8601 UTC. */
  readonly askedAt: string;
  /** When the wait ends and the call is refused (ISO 8601 UTC). */
  readonly expiresAt: string;
}

export interface PendingApprovalsResponse {
  readonly pending: readonly PendingApproval[];
  /** How many readers of the event stream said they ask a person; 0 means a call needing approval is refused at once. */
  readonly approvers: number;
}

/** `once`: this call; `session`: this tool for the rest of the asking session; `deny`: refused. */
export type ApprovalAnswer = 'allow-once' | 'allow-session' | 'deny';

export interface ApprovalAnswerRequest {
  readonly answer: ApprovalAnswer;
  /** Who answers, as the ledger names them (the editor's signed-in person). */
  readonly by: string;
}

/** 200 when the answer decided the call; 404 for an unknown id; 409 when it was already decided or timed out. */
export type ApprovalAnswerResponse =
  | { readonly ok: true; readonly resolution: ApprovalResolution }
  | { readonly ok: false; readonly reason: 'unknown' | 'already-decided' | 'expired'; readonly message: string };

/** What the event stream carries about approvals: `event: approval` and `event: approval-resolved`. */
export type ApprovalEvent =
  | { readonly type: 'approval'; readonly pending: PendingApproval }
  | { readonly type: 'approval-resolved'; readonly resolution: ApprovalResolution };

/** How a pending call ended. */
export interface ApprovalResolution {
  readonly id: string;
  readonly outcome: 'allowed' | 'denied' | 'timeout' | 'abandoned';
  /** Who decided: a person, `rule:<id>` for an approval rule, `token:<jti>` for an approval token; null for a timeout. */
  readonly by: string | null;
  readonly scope: 'once' | 'session' | null;
}

/** The decision record's account of an approval: who approved the call, or why it was not. */
export interface ApprovalRecord {
  /** `abandoned`: the client left (cancelled the call, closed the session) while it waited. */
  readonly outcome: 'allowed' | 'denied' | 'timeout' | 'abandoned';
  readonly by: string | null;
  /** `person` answered in the editor, `session` a person's earlier "for this session", `rule` or `token`. */
  readonly via: 'person' | 'session' | 'rule' | 'token' | null;
}
