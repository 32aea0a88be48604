import type { ModelCall } from '../contracts/call';
import type { Usage } from './decision';
import { anyGlobMatch } from './glob';
import type { Identity } from './identity/identity';
import type { ApprovalRule, Policy } from './policy/model';

// Tools share one namespace across model-declared tools (`Bash`, `web_search`) and MCP tools
// (`mcp__<server>__<tool>`), so one allow list governs what an agent may declare to a model and
// what it may call through the gateway.

/** The name an agent gives an MCP server's tool. */
export function mcpToolName(server: string, tool: string): string {
  return `mcp__${server}__${tool}`;
}

/** The provider an MCP tools/call is recorded and decided under. */
export const MCP_PROVIDER = 'mcp';

/**
 * One MCP tools/call as the engine decides it: provider `mcp`, route `<server>/<tool>`, the tools
 * entitlement instead of a model's, one request and one tool call, named, so `cost: tool_calls`
 * limits and `when: { tool }` count it as they count a model's. The gateway and a replay build it
 * here, so both decide the same call. `texts` are what classification detectors read.
 */
export function mcpToolCall(server: string, tool: string, texts: readonly string[] = []): ModelCall {
  const toolName = mcpToolName(server, tool);
  return { provider: MCP_PROVIDER, style: MCP_PROVIDER, route: `${server}/${tool}`, kind: 'tool', tool: toolName, tools: [toolName], toolCalls: 1, stream: false, inputTokens: 0, choices: 1, texts };
}

/** What a tools/call settles at: no tokens, and the one tool call it held (the call's usage names none). */
export const MCP_TOOL_CALL_USAGE: Usage = { input_tokens: 0, output_tokens: 0 };

/** What one identity may do with tools. */
export interface ToolEntitlement {
  /** Whether the identity may declare or call the tool. */
  allowed(tool: string): boolean;
  /** Whether each call of the tool waits for a person's approval. */
  needsApproval(tool: string): boolean;
  /** Whether the audit record keeps the call's (redacted) arguments rather than only their hash. */
  recordsArguments(tool: string): boolean;
  /** What a model request declaring a tool outside the list gets. */
  readonly onUndeclared: 'refuse' | 'strip';
}

const EVERY_TOOL: ToolEntitlement = { allowed: () => true, needsApproval: () => false, recordsArguments: () => false, onUndeclared: 'refuse' };

/**
 * The default list widened by each of the person's roles and their own entry, as model
 * entitlements are. Without a `tools` section every tool is allowed; with one, a person no list
 * applies to may use none.
 */
export function toolEntitlementFor(policy: Policy, identity: Identity): ToolEntitlement {
  const tools = policy.tools;
  if (!tools) return EVERY_TOOL;
  const lists: (readonly string[])[] = [];
  if (tools.default) lists.push(tools.default);
  for (const role of identity.roles) {
    const l = tools.roles.get(role);
    if (l) lists.push(l);
  }
  const own = tools.users.get(identity.user);
  if (own) lists.push(own);
  return {
    allowed: (tool) => lists.some((l) => anyGlobMatch(l, tool)),
    needsApproval: (tool) => anyGlobMatch(tools.approval, tool),
    recordsArguments: (tool) => anyGlobMatch(tools.recordArguments, tool),
    onUndeclared: tools.onUndeclared,
  };
}

/** The approval rule of the bundle that admits this identity's call of the tool without a person, if one does. */
export function approvalRuleFor(policy: Policy, identity: Identity, tool: string): ApprovalRule | undefined {
  for (const rule of policy.tools?.approvalRules ?? []) {
    if (!anyGlobMatch(rule.tools, tool)) continue;
    if (rule.users && !anyGlobMatch(rule.users, identity.user)) continue;
    if (rule.roles && !rule.roles.some((r) => identity.roles.includes(r))) continue;
    // As for exceptions: an agent the caller merely names in x-tollgate-agent is not vouched for.
    if (rule.agents && (identity.agentAsserted || !anyGlobMatch(rule.agents, identity.agent))) continue;
    return rule;
  }
  return undefined;
}
