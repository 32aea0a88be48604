import { createHash } from 'node:crypto';
import type { DecisionBody } from '../../contracts/audit-records';
import type { Decision } from '../../engine/decision';
import type { Suspension } from '../../engine/divergence/suspension';
import type { Identity } from '../../engine/identity/identity';
import { MCP_TOOL_CALL_USAGE, mcpToolCall, mcpToolName, toolEntitlementFor } from '../../engine/tools';
import { Redactor } from '../../scan/redactor';
import { decisionBody, settleBody } from '../../store/ledger/call-records';
import type { CallRecorder } from '../../store/ledger/call-recorder';
import { canonicalJson } from '../../store/ledger/canonical';
import type { ToolPinRegistry } from '../../store/tool-pins';
import type { PolicyContext } from '../context';
import { approvalRecordOf } from './approval-gate';
import type { ApprovalGate, ApprovalVerdict } from './approval-gate';

// One MCP tools/call as a decision: the tools entitlement and every matching limit through the
// engine (provider `mcp`, route `<server>/<tool>`, one request and one tool call), a definition
// held back since it changed, the approval gate, then the decision record, durable before the call
// goes to the server; and a settle record when the server answers.

/** What the gateway answers a refused call with, and the decision record that says why. */
export interface ToolRefusal {
  readonly message: string;
  readonly data: { readonly rule: string; readonly tool: string; readonly status: number; readonly decision: string | null; readonly retry_after_s?: number };
}

/** guards.divergence as a tool call meets it: the suspension in force, and the call counted in its identity's window. */
export interface DivergenceGuard {
  suspensionOf(identity: Identity): Promise<Suspension | undefined>;
  decided(identity: Identity, decision: Decision): void;
}

/** An admitted call, open until the server answers. */
export interface OpenToolCall {
  readonly decision: Decision;
  readonly recordId: string;
  readonly started: number;
}

export interface ToolCallParts {
  readonly recorder: CallRecorder;
  readonly ledgerHealth: () => { readonly ok: true } | { readonly ok: false; readonly reason: string };
  readonly pins: ToolPinRegistry;
  readonly approvals: ApprovalGate;
  readonly shadow: boolean;
  /** guards.divergence: a runaway identity stopped from spending is stopped from acting too, and its tool calls count in its window. */
  readonly divergence?: DivergenceGuard;
  readonly clock: () => number;
  readonly log: { warn(message: string): void; error(message: string): void };
}

/** The arguments as the ledger and a person may see them: every string through the key scanner's redaction. */
export function redactedArguments(value: unknown, redactor = new Redactor()): unknown {
  if (typeof value === 'string') return redactor.redact(value);
  if (Array.isArray(value)) return value.map((v) => redactedArguments(v, redactor));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[redactor.redact(k)] = redactedArguments(v, redactor);
    return out;
  }
  return value;
}

/** The texts classification detectors read: the arguments' strings, bounded. */
function argumentTexts(value: unknown, out: string[] = [], budget = { left: 65_536 }): string[] {
  if (budget.left <= 0) return out;
  if (typeof value === 'string') {
    out.push(value.slice(0, budget.left));
    budget.left -= value.length;
  } else if (Array.isArray(value)) for (const v of value) argumentTexts(v, out, budget);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) argumentTexts(v, out, budget);
  return out;
}

export class ToolCallGovernor {
  constructor(private readonly p: ToolCallParts) {}

  /** Decides one tools/call; refused, nothing goes to the server and the refusal is on record. */
  async admit(
    ctx: PolicyContext,
    identity: Identity,
    server: string,
    tool: string,
    args: unknown,
    signal: AbortSignal,
    asking: { readonly session: string | null; readonly approvalToken?: string } = { session: null },
  ): Promise<{ readonly ok: true; readonly call: OpenToolCall } | { readonly ok: false; readonly refusal: ToolRefusal }> {
    const toolName = mcpToolName(server, tool);
    const started = this.p.clock();
    const argumentsSha256 = createHash('sha256').update(canonicalJson(args ?? {})).digest('hex');
    const entitlement = toolEntitlementFor(ctx.policy, identity);
    const kept = entitlement.recordsArguments(toolName) ? redactedArguments(args ?? {}) : null;
    const health = this.p.ledgerHealth();
    if (!health.ok) {
      // Fail closed: a call that cannot be recorded is not made.
      return { ok: false, refusal: { message: `tollgate cannot record decisions, so it refuses tool calls until it can: ${health.reason}`, data: { rule: 'ledger', tool: toolName, status: 503, decision: null } } };
    }
    const call = mcpToolCall(server, tool, argumentTexts(args));
    let decision: Decision;
    try {
      const suspension = await this.p.divergence?.suspensionOf(identity);
      decision = await ctx.engine.decide({ identity, call, shadow: this.p.shadow, suspension }, started);
    } catch (err) {
      this.p.log.error(`store: ${(err as Error).message}`);
      return { ok: false, refusal: { message: `tollgate cannot reach its accumulator store, so it refuses tool calls until it can: ${(err as Error).message}`, data: { rule: 'store', tool: toolName, status: 503, decision: null } } };
    }
    // Counted as the proxy counts a model call: every decided call, refused ones too.
    this.p.divergence?.decided(identity, decision);
    const recordOf = (status: number, outcome?: DecisionBody['outcome']): DecisionBody => ({
      ...decisionBody(decision, status, outcome),
      tool: toolName,
      arguments_sha256: argumentsSha256,
      arguments: kept,
    });
    const refuse = async (body: DecisionBody, retryAfterS?: number): Promise<{ ok: false; refusal: ToolRefusal }> => {
      const id = await this.durable(body);
      const rule = body.rule ?? 'unknown';
      const data = { rule, tool: toolName, status: body.status, decision: id, ...(retryAfterS !== undefined ? { retry_after_s: retryAfterS } : {}) };
      return { ok: false, refusal: { message: `Tollgate refused this tool call: ${body.reason}.`, data } };
    };

    if (decision.outcome === 'refuse' && !decision.shadow) return refuse(recordOf(decision.status), decision.retryAfterS);

    // Held back since its definition changed: nothing the entitlement or a limit says lets it through.
    if (await this.p.pins.held(server, tool)) {
      await ctx.engine.release(decision, this.p.clock());
      const body = refusedBody(recordOf(403, 'refuse'), 'mcp.pins', `the definition of tool '${toolName}' changed since it was pinned and must be approved by a person before it is called (tollgate mcp approve --server ${server} --tool ${tool})`);
      return refuse(body);
    }

    if (entitlement.needsApproval(toolName)) {
      const verdict = await this.p.approvals
        .request({ identity, session: asking.session, server, tool, toolName, arguments: kept ?? redactedArguments(args ?? {}), argumentsSha256, approvalToken: asking.approvalToken }, signal)
        .catch((err: Error): ApprovalVerdict => ({ outcome: 'denied', by: null, reason: `the approval could not be asked: ${err.message}` }));
      if (verdict.outcome !== 'allowed') {
        await ctx.engine.release(decision, this.p.clock());
        return refuse({ ...refusedBody(recordOf(403, 'refuse'), 'tools.approval', verdict.reason), approval: approvalRecordOf(verdict) });
      }
      const approved: DecisionBody = { ...recordOf(200), approval: approvalRecordOf(verdict) };
      approved.reason = `${approved.reason}; approved by ${verdict.by} (${verdict.scope === 'once' ? 'this call' : 'this session'})`;
      return this.admitted(ctx, decision, approved, started);
    }
    return this.admitted(ctx, decision, recordOf(200), started);
  }

  /** The call ended: its settle record says how and how long it took. */
  async settle(ctx: PolicyContext, open: OpenToolCall, end: { status: number; isError: boolean; aborted: boolean }): Promise<void> {
    const now = this.p.clock();
    const settlement = await ctx.engine.settle(open.decision, MCP_TOOL_CALL_USAGE, now).catch((err: Error) => {
      this.p.log.error(`settle: ${err.message}`);
      return undefined;
    });
    const body = settleBody(open.recordId, settlement, end.status, end.aborted);
    body.duration_ms = Math.max(0, now - open.started);
    body.is_error = end.isError;
    this.p.recorder.append(body, { lazy: true });
  }

  private async admitted(ctx: PolicyContext, decision: Decision, body: DecisionBody, started: number): Promise<{ ok: true; call: OpenToolCall } | { ok: false; refusal: ToolRefusal }> {
    const id = await this.durable(body);
    if (!id) {
      await ctx.engine.release(decision, this.p.clock());
      return { ok: false, refusal: { message: 'tollgate could not record this decision, so the tool call was not made', data: { rule: 'ledger', tool: body.tool ?? '', status: 503, decision: null } } };
    }
    return { ok: true, call: { decision, recordId: id, started } };
  }

  /** Appends a decision record; its id once durable, null when it could not be recorded. */
  private async durable(body: DecisionBody): Promise<string | null> {
    const appended = this.p.recorder.appendDecision(body);
    if (!appended) return null;
    return appended.durable.then(
      () => appended.record.id,
      () => null,
    );
  }
}

/** A decision the engine admitted, refused afterwards by the gateway: it holds nothing. */
function refusedBody(body: DecisionBody, rule: string, reason: string): DecisionBody {
  return { ...body, outcome: 'refuse', rule, reason, reserved: { input_tokens: 0, output_tokens: 0, usd: 0 }, limits: body.limits.map((l) => ({ ...l, after: l.before })) };
}
