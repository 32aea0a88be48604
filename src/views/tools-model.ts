// The dashboard's Tools section: tool calls per agent and per MCP server and tool, today and over
// the snapshot's window, the refused tool calls, and the calls waiting for a person's approval.
// Pure, so plain mocha tests it and the webview bundles it without any host code.

import type { PendingApprovalsResponse } from '../contracts/approvals';
import type { ToolActivity, ToolCallRow, ToolRefusalSummary } from '../contracts/ledger-queries';
import { contains } from './dashboard-model';

/** One agent, server or tool: its calls today and over the window. */
export interface ToolCallLine {
  readonly key: string;
  readonly today: number;
  readonly todayRefused: number;
  readonly calls: number;
  readonly refused: number;
  /** Agents only: the tool calls models asked for over the window. */
  readonly modelToolCalls: number;
}

/** A server's line, with a line for each of its tools (keyed by the server's own name for it). */
export interface ServerLine extends ToolCallLine {
  readonly tools: readonly ToolCallLine[];
}

function byCalls(a: ToolCallLine, b: ToolCallLine): number {
  return b.calls + b.modelToolCalls - (a.calls + a.modelToolCalls) || b.refused - a.refused || a.key.localeCompare(b.key);
}

/** Today's and the window's rows side by side, one line per key (a key active only today is in both: today is in the window). */
function merged(today: readonly ToolCallRow[], window: readonly ToolCallRow[]): ToolCallLine[] {
  const todayByKey = new Map(today.map((r) => [r.key, r]));
  return window.map((w) => {
    const t = todayByKey.get(w.key);
    return { key: w.key, today: t?.calls ?? 0, todayRefused: t?.refused ?? 0, calls: w.calls, refused: w.refused, modelToolCalls: w.model_tool_calls };
  });
}

/** Tool calls per agent (`user/agent`) matching the identity filter, the busiest first. */
export function agentToolLines(tools: ToolActivity | undefined, identity: string): ToolCallLine[] {
  if (!tools) return [];
  return merged(tools.today.byAgent, tools.window.byAgent).filter((l) => contains(l.key, identity)).sort(byCalls);
}

/** Tool calls per MCP server, each with its tools, the busiest first. */
export function serverToolLines(tools: ToolActivity | undefined): ServerLine[] {
  if (!tools) return [];
  const toolLines = merged(tools.today.byTool, tools.window.byTool);
  return merged(tools.today.byServer, tools.window.byServer)
    .map((server) => ({
      ...server,
      tools: toolLines
        .filter((t) => t.key.startsWith(`${server.key}/`))
        .map((t) => ({ ...t, key: t.key.slice(server.key.length + 1) }))
        .sort(byCalls),
    }))
    .sort(byCalls);
}

/** A refused tool call as the dashboard lists it: the tool named as agents name it. */
export interface ToolRefusalLine extends ToolRefusalSummary {
  readonly toolName: string;
}

/** The refused tool calls of people and agents matching the identity filter, newest first. */
export function toolRefusalLines(tools: ToolActivity | undefined, identity: string): ToolRefusalLine[] {
  if (!tools) return [];
  return tools.refusals
    .filter((r) => contains(r.user, identity) || contains(r.agent, identity))
    .map((r) => ({ ...r, toolName: `mcp__${r.server}__${r.tool}` }));
}

/** The most of a call's arguments a line shows. */
export const ARGUMENTS_SHOWN = 160;

/**
 * A call's arguments as one line of text, cut to `max` characters. They arrive redacted by the key
 * scanner's rules (the approvals contract); the dashboard shows no more of them than a line.
 */
export function argumentsLine(value: unknown, max = ARGUMENTS_SHOWN): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? '';
  } catch {
    text = '';
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export interface ApprovalLine {
  readonly id: string;
  readonly who: string;
  readonly toolName: string;
  readonly arguments: string;
  readonly askedAt: string;
  readonly expiresAt: string;
}

/** The calls waiting for approval, oldest first (the next to time out), and how many people can answer them. */
export function approvalLines(approvals: PendingApprovalsResponse | undefined, identity: string): { readonly lines: ApprovalLine[]; readonly approvers: number | null } {
  if (!approvals) return { lines: [], approvers: null };
  const lines = approvals.pending
    .filter((p) => contains(p.user, identity) || contains(p.agent ?? '', identity))
    .map((p) => ({ id: p.id, who: p.agent ? `${p.user} / ${p.agent}` : p.user, toolName: p.toolName, arguments: argumentsLine(p.arguments), askedAt: p.askedAt, expiresAt: p.expiresAt }))
    .sort((a, b) => a.askedAt.localeCompare(b.askedAt) || a.id.localeCompare(b.id));
  return { lines, approvers: approvals.approvers };
}
