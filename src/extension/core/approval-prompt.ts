// Approval gates from the editor's side (src/contracts/approvals.ts): while a person can answer, the
// editor reads the proxy's event stream as an approver, turns each call waiting for a person into one
// question, and posts the answer. The proxy decides; the editor only asks and reports. No vscode
// import: the modal is the adapter's (approval-modal.ts).

import type { AdminEvent } from '../../contracts/admin';
import type { ApprovalAnswer, ApprovalAnswerRequest, ApprovalAnswerResponse, ApprovalEvent, ApprovalResolution, PendingApproval, PendingApprovalsResponse } from '../../contracts/approvals';
import type { AdminError, ApproverListener, EventStream } from './admin-client';
import type { BackoffOptions } from './backoff';
import { RestartBackoff } from './backoff';

/** The part of the admin client an approver uses (AdminClient implements it). */
export interface ApproverAdmin {
  events(onEvent: (event: AdminEvent) => void, onEnd: (err: AdminError) => void, approver?: ApproverListener): EventStream;
  pendingApprovals(): Promise<PendingApprovalsResponse>;
  answerApproval(id: string, answer: ApprovalAnswerRequest): Promise<ApprovalAnswerResponse>;
}

/** The buttons, in the order shown, and the answer each gives. Dismissing the question is Deny. */
export const APPROVAL_CHOICES: readonly { readonly title: string; readonly answer: ApprovalAnswer }[] = [
  { title: 'Allow Once', answer: 'allow-once' },
  { title: 'Allow for This Session', answer: 'allow-session' },
  { title: 'Deny', answer: 'deny' },
];

/** How much of the arguments a question shows: enough to recognise them, never a wall of text. */
export const ARGUMENTS_SHOWN_MAX = 600;
const FIELD_SHOWN_MAX = 120;

/** One question for a person: a short line and the detail under it. */
export interface ApprovalQuestion {
  readonly id: string;
  readonly message: string;
  readonly detail: string;
}

// A tool server names its tools and an agent its session: neither may break a line of the question
// or reorder its text (bidirectional controls), so they are shown as plain spaces.
const unprintable = /[\p{Cc}\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

function bounded(text: string, max: number): string {
  const chars = Array.from(text.replace(unprintable, ' '));
  return chars.length <= max ? chars.join('') : `${chars.slice(0, max).join('')}… (${chars.length} characters in all)`;
}

/** The arguments on one line, cut at `max` characters (the proxy has already redacted them). */
export function compactArguments(args: unknown, max = ARGUMENTS_SHOWN_MAX): string {
  if (args === undefined || args === null) return '(none)';
  let text: string;
  try {
    text = JSON.stringify(args) ?? String(args);
  } catch {
    text = String(args);
  }
  return bounded(text, max);
}

function whenItExpires(expiresAt: string, now: number): string {
  const at = Date.parse(expiresAt);
  if (Number.isNaN(at)) return bounded(expiresAt, FIELD_SHOWN_MAX);
  const seconds = Math.max(0, Math.round((at - now) / 1000));
  return `in ${seconds} s (${new Date(at).toISOString().slice(11, 19)} UTC)`;
}

function asker(p: PendingApproval): string {
  const user = bounded(p.user, FIELD_SHOWN_MAX);
  return p.agent ? `${bounded(p.agent, FIELD_SHOWN_MAX)} (${user})` : user;
}

/** The question for one waiting call: who asks, the server and tool, the arguments, when the wait ends. */
export function approvalQuestionOf(p: PendingApproval, now: number): ApprovalQuestion {
  const field = (v: string | null): string => (v ? bounded(v, FIELD_SHOWN_MAX) : '(none)');
  return {
    id: p.id,
    message: `Tollgate: ${asker(p)} wants to call ${field(p.tool)} on the MCP server ${field(p.server)}`,
    detail: [
      `Who asks: ${field(p.user)}, agent ${field(p.agent)}, session ${field(p.session)}`,
      `Tool: ${field(p.toolName)}`,
      `Arguments (redacted): ${compactArguments(p.arguments)}`,
      `Unanswered, the call is refused ${whenItExpires(p.expiresAt, now)}.`,
    ].join('\n'),
  };
}

/** What a window knows about itself when deciding whether it approves. */
export interface ApproverWindow {
  readonly trusted: boolean;
  /** The signed-in person, if any. */
  readonly person: string | undefined;
  readonly proxyRunning: boolean;
}

/**
 * Who approves from this window, or undefined when nobody may: a workspace the person has not
 * trusted never approves (so its calls are refused), and nobody answers for no one.
 */
export function approverOf(w: ApproverWindow): string | undefined {
  return w.trusted && w.proxyRunning && w.person ? w.person : undefined;
}

export interface ApprovalPromptHooks {
  /** Shows the question; resolves with the answer, or undefined when the person dismissed it. */
  ask(question: ApprovalQuestion): Promise<ApprovalAnswer | undefined>;
  /** Tells the person something they did not expect: their answer came too late, or did not arrive. */
  tell(message: string): void;
  log(level: 'info' | 'warn' | 'debug', message: string): void;
  now(): number;
}

/** Reconnecting to the stream: quick at first (a proxy restart), and a stop when the proxy stays away. */
export const approverBackoff: BackoffOptions = { baseMs: 500, maxMs: 10_000, stableMs: 30_000, maxFailures: 10 };

interface Connection {
  readonly admin: ApproverAdmin;
  readonly approver: string;
}

interface OpenQuestion {
  readonly pending: PendingApproval;
  readonly connection: Connection;
  /** How the call ended while the person was still looking at the question. */
  resolution?: ApprovalResolution;
}

type Ending = ApprovalResolution['outcome'] | 'expired' | 'already-decided' | 'unknown' | 'unreachable';

/**
 * One approver: connected while a person can answer (a trusted window, someone signed in, the proxy
 * running), asking one question at a time, and never asking twice about one call.
 */
export class ApprovalPrompt {
  private connection: Connection | undefined;
  private stream: EventStream | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff: RestartBackoff;
  /** Every call ever asked about or queued, with when its wait ends: a call is asked about once. */
  private readonly known = new Map<string, number>();
  private queue: PendingApproval[] = [];
  private current: OpenQuestion | undefined;
  private opened = false;
  private disposed = false;

  constructor(
    private readonly hooks: ApprovalPromptHooks,
    backoff: BackoffOptions = approverBackoff,
  ) {
    this.backoff = new RestartBackoff(backoff);
  }

  /** Whether the proxy has accepted this approver's stream (and so counts it). */
  get approving(): boolean {
    return this.opened;
  }

  /** Reads `admin`'s stream as `approver`; a no-op when already doing so. */
  connect(admin: ApproverAdmin, approver: string): void {
    if (this.disposed || (this.connection?.admin === admin && this.connection.approver === approver)) return;
    this.disconnect();
    this.connection = { admin, approver };
    this.backoff.reset();
    this.open(this.connection);
  }

  /** Stops approving: the proxy no longer counts this window, and questions not yet shown are dropped. */
  disconnect(): void {
    const was = this.connection;
    this.connection = undefined;
    this.opened = false;
    this.stream?.close();
    this.stream = undefined;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (was) this.hooks.log('info', `approvals: no longer approving tool calls as ${was.approver}`);
    this.queue = [];
  }

  private open(connection: Connection): void {
    let openedAt: number | undefined;
    this.stream = connection.admin.events(
      () => undefined,
      (err) => {
        if (this.connection !== connection) return;
        this.stream = undefined;
        this.opened = false;
        const delay = this.backoff.next(openedAt === undefined ? 0 : this.hooks.now() - openedAt);
        if (delay === undefined) {
          this.hooks.log('warn', `approvals: the proxy's event stream keeps failing (${err.message}); tool calls that need approval are refused until the proxy is back`);
          return;
        }
        this.hooks.log('debug', `approvals: ${err.message}; reconnecting in ${delay} ms`);
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          if (this.connection === connection) this.open(connection);
        }, delay);
      },
      {
        approver: connection.approver,
        onOpen: () => {
          if (this.connection !== connection) return;
          openedAt = this.hooks.now();
          this.opened = true;
          this.hooks.log('info', `approvals: approving tool calls as ${connection.approver}`);
          void this.catchUp(connection);
        },
        onApproval: (event) => {
          if (this.connection === connection) this.observe(event, connection);
        },
      },
    );
  }

  // Calls that started waiting before this stream opened (the editor reconnected) are asked about too.
  private async catchUp(connection: Connection): Promise<void> {
    try {
      const { pending } = await connection.admin.pendingApprovals();
      for (const p of pending) if (this.connection === connection) this.observe({ type: 'approval', pending: p }, connection);
    } catch (err) {
      this.hooks.log('debug', `approvals: listing the waiting calls: ${(err as Error).message}`);
    }
  }

  private observe(event: ApprovalEvent, connection: Connection): void {
    if (event.type === 'approval') {
      const p = event.pending;
      if (this.known.has(p.id)) return;
      this.remember(p.id, Date.parse(p.expiresAt));
      this.queue.push(p);
      this.next(connection);
      return;
    }
    const r = event.resolution;
    if (!this.known.has(r.id)) this.remember(r.id, this.hooks.now());
    const queued = this.queue.findIndex((p) => p.id === r.id);
    if (queued >= 0) {
      const [p] = this.queue.splice(queued, 1);
      this.hooks.log('info', `approvals: ${p!.toolName} for ${p!.user} ended (${r.outcome}) before it was asked`);
    }
    if (this.current?.pending.id === r.id) {
      // A modal cannot be taken back: the answer, when it comes, is met with how the call ended.
      this.current.resolution = r;
      this.hooks.log('info', `approvals: ${this.current.pending.toolName} for ${this.current.pending.user} ended (${r.outcome}${r.by ? ` by ${r.by}` : ''}) while it was asked`);
    }
  }

  private remember(id: string, until: number): void {
    this.known.set(id, Number.isNaN(until) ? this.hooks.now() : until);
    // Forget calls long over, so a long-lived window does not keep every id it ever saw.
    if (this.known.size > 1_000) {
      const before = this.hooks.now() - 3_600_000;
      for (const [k, t] of this.known) if (t < before) this.known.delete(k);
    }
  }

  /** Asks the next question, if none is open: one modal at a time. */
  private next(connection: Connection): void {
    if (this.current || this.disposed) return;
    let pending: PendingApproval | undefined;
    while ((pending = this.queue.shift())) {
      if (Date.parse(pending.expiresAt) > this.hooks.now()) break;
      this.hooks.log('info', `approvals: ${pending.toolName} for ${pending.user} timed out before it was asked`);
    }
    if (!pending) return;
    const open: OpenQuestion = { pending, connection };
    this.current = open;
    void this.hooks
      .ask(approvalQuestionOf(pending, this.hooks.now()))
      .then(
        (answer) => answer ?? 'deny',
        (err: unknown) => {
          this.hooks.log('warn', `approvals: the question could not be shown: ${(err as Error).message}`);
          return 'deny' as const;
        },
      )
      .then((answer) => this.answer(open, answer))
      .finally(() => {
        this.current = undefined;
        if (this.connection) this.next(this.connection);
      });
  }

  private async answer(open: OpenQuestion, answer: ApprovalAnswer): Promise<void> {
    if (this.disposed) return;
    const p = open.pending;
    if (open.resolution) return this.tooLate(p, answer, open.resolution.outcome, open.resolution.by);
    let response: ApprovalAnswerResponse;
    try {
      response = await open.connection.admin.answerApproval(p.id, { answer, by: open.connection.approver });
    } catch (err) {
      this.hooks.log('warn', `approvals: answering ${p.toolName}: ${(err as Error).message}`);
      return this.tooLate(p, answer, 'unreachable', null);
    }
    if (response.ok) {
      const r = response.resolution;
      this.hooks.log('info', `approvals: ${p.toolName} for ${p.user}: ${answer} by ${open.connection.approver} (${r.outcome}${r.scope ? `, ${r.scope}` : ''})`);
      return;
    }
    this.tooLate(p, answer, response.reason, null);
  }

  /** The call ended otherwise than the person answered: say so, unless they refused it and it was refused. */
  private tooLate(p: PendingApproval, answer: ApprovalAnswer, ending: Ending, by: string | null): void {
    this.hooks.log('info', `approvals: ${p.toolName} for ${p.user}: ${answer} came too late (${ending}${by ? ` by ${by}` : ''})`);
    const refused = ending === 'denied' || ending === 'timeout' || ending === 'expired' || ending === 'abandoned' || ending === 'unknown';
    if (answer === 'deny' && refused) return;
    const call = `the call of ${bounded(p.tool, FIELD_SHOWN_MAX)} on ${bounded(p.server, FIELD_SHOWN_MAX)} by ${asker(p)}`;
    const who = by ? bounded(by, FIELD_SHOWN_MAX) : 'someone else';
    // What happened comes first: a notification shows its first line only.
    const text: Record<Ending, string> = {
      timeout: `too late, ${call} was already refused: nobody answered in time.`,
      expired: `too late, ${call} was already refused: nobody answered in time.`,
      denied: `too late, ${call} was already refused by ${who}.`,
      allowed: `too late, ${call} was already allowed by ${who}.`,
      'already-decided': `too late, ${call} was already decided.`,
      abandoned: `too late, ${call} was refused: the caller stopped waiting.`,
      unknown: `too late, ${call} was refused: the proxy no longer waits for it (it restarted or the caller left).`,
      unreachable: `your answer to ${call} did not reach the proxy, which refuses the call when its wait ends.`,
    };
    this.hooks.tell(`Tollgate: ${text[ending]}`);
  }

  dispose(): void {
    this.disconnect();
    this.disposed = true;
  }
}
