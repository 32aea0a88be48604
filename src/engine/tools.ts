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
