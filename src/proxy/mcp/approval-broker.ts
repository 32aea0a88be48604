import { randomBytes } from 'node:crypto';
import type { ApprovalAnswer, ApprovalAnswerResponse, ApprovalEvent, ApprovalResolution, PendingApproval } from '../../contracts/approvals';
import { APPROVAL_TOKEN_HEADER } from '../../contracts/approvals';
import type { ApprovalGrant } from '../../engine/identity/approval-token';
import { ApprovalTokenError, grantCovers } from '../../engine/identity/approval-token';
import type { Policy } from '../../engine/policy/model';
import { DEFAULT_APPROVAL_TIMEOUT_MS } from '../../engine/policy/model';
import { approvalRuleFor } from '../../engine/tools';
import type { ApprovalGate, ApprovalRequest, ApprovalVerdict } from './approval-gate';

// The approval broker: every MCP call of a tool under `tools.approval` comes here. In order, an
// approval rule of the bundle, a valid approval token sent with the request, or a person's earlier
// "allow for this session" admits it; otherwise, when someone listens as an approver on the admin
// event stream (the editor), the call waits for their answer, and when nobody does it is refused at
// once: a call nobody can approve must not hang until its timeout.

/** Calls one MCP session may have waiting at once; more are refused, so no client fills the list. */
export const MAX_PENDING_PER_SESSION = 8;
/** Calls one person may have waiting at once, across their sessions. */
export const MAX_PENDING_PER_USER = 32;
/** Calls waiting at once in all. */
export const MAX_PENDING = 256;
/** Answered or ended calls remembered, so a late answer is told why it came too late. */
const MAX_FINISHED = 1024;
/** Sessions and tools per session remembered for "allow for this session". */
const MAX_SESSIONS = 4096;
const MAX_TOOLS_PER_SESSION = 256;

/** Runs `fn` after `ms`; the function returned cancels it. Injected so tests hold the clock. */
export type Timer = (ms: number, fn: () => void) => () => void;

const realTimer: Timer = (ms, fn) => {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
};

export interface ApprovalBrokerParts {
  /** The bundle in force: its approval rules and timeout. */
  readonly policy: () => Policy;
  /** How many readers of the event stream ask a person (`?approver=`). */
  readonly approvers: () => number;
  /** Puts an event on the admin event stream. */
  readonly announce: (event: ApprovalEvent) => void;
  /** What an approval token grants; throws ApprovalTokenError when it grants nothing. Absent: tokens are not taken. */
  readonly verifyToken?: (token: string, now: number) => Promise<ApprovalGrant>;
  readonly clock: () => number;
  readonly timer?: Timer;
  readonly log: { info(message: string): void; warn(message: string): void };
}

interface Waiting {
  readonly view: PendingApproval;
  readonly session: string | null;
  readonly user: string;
  readonly agent: string;
  readonly expiresAt: number;
  finish(verdict: ApprovalVerdict, resolution: ApprovalResolution): void;
}

export class ApprovalBroker implements ApprovalGate {
  private readonly waiting = new Map<string, Waiting>();
  /** id -> how it ended, oldest first. */
  private readonly finished = new Map<string, ApprovalResolution['outcome']>();
  /** MCP session -> `user \0 agent \0 tool` a person allowed for the rest of it. */
  private readonly allowedForSession = new Map<string, Set<string>>();
  private readonly timer: Timer;

  constructor(private readonly p: ApprovalBrokerParts) {
    this.timer = p.timer ?? realTimer;
  }

  async request(req: ApprovalRequest, signal: AbortSignal): Promise<ApprovalVerdict> {
    const { identity, toolName } = req;
    const policy = this.p.policy();
    const rule = approvalRuleFor(policy, identity, toolName);
    if (rule) return { outcome: 'allowed', by: `rule:${rule.id}`, scope: 'once', via: 'rule' };

    let tokenProblem: string | undefined;
    if (req.approvalToken !== undefined) {
      const checked = await this.checkToken(req);
      if (checked.ok) return { outcome: 'allowed', by: `token:${checked.grant.id}`, scope: 'once', via: 'token' };
      tokenProblem = checked.problem;
    }

    if (req.session !== null && this.allowedForSession.get(req.session)?.has(sessionKey(identity.user, identity.agent, toolName))) {
      return { outcome: 'allowed', by: 'session', scope: 'session', via: 'session' };
    }
    if (signal.aborted) return { outcome: 'abandoned', reason: 'the client left before the call could be asked about' };

    if (this.p.approvers() === 0) {
      const how = `an approval rule of the bundle (tools.approval_rules) or an approval token (tollgate mcp grant --tool ${toolName} --user ${identity.user}, sent as ${APPROVAL_TOKEN_HEADER}; tollgate mcp bridge sends $TOLLGATE_APPROVAL) can allow it`;
      const token = tokenProblem ? `; the approval token sent does not allow it: ${tokenProblem}` : '';
      return { outcome: 'denied', by: null, reason: `tool '${toolName}' needs a person's approval for each call (tools.approval), and no one can approve it here (no approver is connected): ${how}${token}` };
    }
    const crowded = this.crowded(req);
    if (crowded) return { outcome: 'denied', by: null, reason: crowded };
    return this.ask(req, policy.tools?.approvalTimeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS, signal);
  }

  /** The calls waiting now, oldest first. */
  pending(): PendingApproval[] {
    return [...this.waiting.values()].map((w) => w.view);
  }

  /** A person's answer to a waiting call. */
  answer(id: string, answer: ApprovalAnswer, by: string): ApprovalAnswerResponse {
    const w = this.waiting.get(id);
    if (!w) {
      const ended = this.finished.get(id);
      if (ended === undefined) return { ok: false, reason: 'unknown', message: `no call waits for approval under id ${id}` };
      if (ended === 'timeout') return { ok: false, reason: 'expired', message: 'the call waited longer than tools.approval_timeout and was refused' };
      return { ok: false, reason: 'already-decided', message: `the call was already ${ended === 'abandoned' ? 'given up by its client' : ended}` };
    }
    // A timer may run late; the clock says when the wait ended.
    if (this.p.clock() >= w.expiresAt) {
      this.expire(w);
      return { ok: false, reason: 'expired', message: 'the call waited longer than tools.approval_timeout and was refused' };
    }
    if (answer === 'deny') {
      const resolution: ApprovalResolution = { id, outcome: 'denied', by, scope: null };
      w.finish({ outcome: 'denied', by, reason: `${by} denied this call of tool '${w.view.toolName}'` }, resolution);
      return { ok: true, resolution };
    }
    const scope = answer === 'allow-session' ? 'session' : 'once';
    if (scope === 'session' && w.session !== null) this.allowForSession(w.session, sessionKey(w.user, w.agent, w.view.toolName));
    const resolution: ApprovalResolution = { id, outcome: 'allowed', by, scope };
    w.finish({ outcome: 'allowed', by, scope, via: 'person' }, resolution);
    return { ok: true, resolution };
  }

  sessionEnded(session: string): void {
    this.allowedForSession.delete(session);
  }

  private async checkToken(req: ApprovalRequest): Promise<{ ok: true; grant: ApprovalGrant } | { ok: false; problem: string }> {
    if (!this.p.verifyToken) return { ok: false, problem: 'this proxy takes no approval tokens' };
    let grant: ApprovalGrant;
    try {
      grant = await this.p.verifyToken(req.approvalToken!, this.p.clock());
    } catch (err) {
      if (ApprovalTokenError.is(err)) return { ok: false, problem: err.message };
      throw err;
    }
    const problem = grantCovers(grant, req.identity, req.toolName);
    return problem === undefined ? { ok: true, grant } : { ok: false, problem };
  }

  /** Why one more waiting call from this caller is too many, or undefined. */
  private crowded(req: ApprovalRequest): string | undefined {
    let bySession = 0;
    let byUser = 0;
    for (const w of this.waiting.values()) {
      if (w.session === req.session) bySession++;
      if (w.user === req.identity.user) byUser++;
    }
    if (req.session !== null && bySession >= MAX_PENDING_PER_SESSION) return `${bySession} calls of this MCP session already wait for a person's approval, the most one session may have; wait for an answer`;
    if (byUser >= MAX_PENDING_PER_USER) return `${byUser} calls of ${req.identity.user} already wait for a person's approval, the most one person may have; wait for an answer`;
    if (this.waiting.size >= MAX_PENDING) return `${this.waiting.size} calls already wait for a person's approval, the most this proxy holds; retry later`;
    return undefined;
  }

  private ask(req: ApprovalRequest, timeoutMs: number, signal: AbortSignal): Promise<ApprovalVerdict> {
    const now = this.p.clock();
    const id = randomBytes(18).toString('base64url');
    const view: PendingApproval = {
      id, user: req.identity.user, agent: req.identity.agent, session: req.session, server: req.server, tool: req.tool, toolName: req.toolName,
      arguments: req.arguments, argumentsSha256: req.argumentsSha256, askedAt: new Date(now).toISOString(), expiresAt: new Date(now + timeoutMs).toISOString(),
    };
    return new Promise<ApprovalVerdict>((resolve) => {
      let cancelTimer = (): void => undefined;
      const onAbort = (): void => {
        const w = this.waiting.get(id);
        if (w) w.finish({ outcome: 'abandoned', reason: 'the client left before anyone answered' }, { id, outcome: 'abandoned', by: null, scope: null });
      };
      const w: Waiting = {
        view, session: req.session, user: req.identity.user, agent: req.identity.agent, expiresAt: now + timeoutMs,
        finish: (verdict, resolution) => {
          if (!this.waiting.delete(id)) return;
          cancelTimer();
          signal.removeEventListener('abort', onAbort);
          this.remember(id, resolution.outcome);
          this.p.log.info(`approval ${id}: ${req.toolName} for ${req.identity.user} ${resolution.outcome}${resolution.by ? ` by ${resolution.by}` : ''}`);
          this.p.announce({ type: 'approval-resolved', resolution });
          resolve(verdict);
        },
      };
      this.waiting.set(id, w);
      cancelTimer = this.timer(timeoutMs, () => this.expire(w));
      signal.addEventListener('abort', onAbort, { once: true });
      this.p.log.info(`approval ${id}: ${req.toolName} for ${req.identity.user} (${req.identity.agent}) waits for a person, at most ${Math.round(timeoutMs / 1000)}s`);
      this.p.announce({ type: 'approval', pending: view });
    });
  }

  private expire(w: Waiting): void {
    const seconds = Math.round((w.expiresAt - Date.parse(w.view.askedAt)) / 1000);
    w.finish({ outcome: 'timeout', reason: `no one approved tool '${w.view.toolName}' within ${seconds}s (tools.approval_timeout)` }, { id: w.view.id, outcome: 'timeout', by: null, scope: null });
  }

  private remember(id: string, outcome: ApprovalResolution['outcome']): void {
    this.finished.set(id, outcome);
    if (this.finished.size > MAX_FINISHED) this.finished.delete(this.finished.keys().next().value!);
  }

  private allowForSession(session: string, key: string): void {
    let tools = this.allowedForSession.get(session);
    if (!tools) {
      if (this.allowedForSession.size >= MAX_SESSIONS) this.allowedForSession.delete(this.allowedForSession.keys().next().value!);
      tools = new Set();
      this.allowedForSession.set(session, tools);
    }
    if (tools.size < MAX_TOOLS_PER_SESSION) tools.add(key);
  }
}

function sessionKey(user: string, agent: string, tool: string): string {
  return `${user}\u0000${agent}\u0000${tool}`;
}
