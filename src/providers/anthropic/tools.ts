import { toolArray, ToolNames, toolName, toolObject } from '../declared-tools';

// The tools an Anthropic Messages request declares, and the request without some of them. Every
// tool has a `name`: a client tool its own, a server tool (`{ type: 'web_search_20250305', name:
// 'web_search' }`) the name the model calls it by.

export function anthropicTools(b: { tools?: unknown }): readonly string[] | undefined {
  const names = new ToolNames();
  (toolArray(b.tools, 'tools') ?? []).forEach((t, i) => names.add(toolName(toolObject(t, `tools[${i}]`).name, `tools[${i}].name`)));
  return names.list();
}

/** The fields that declare or choose tools; a large body parses them only to strip tools. */
export const anthropicToolFields = ['tools', 'tool_choice'] as const;

/** Removes the `stripped` tools (in place on a copy); a choice of one goes, and with no tool left the choice goes too. */
export function stripAnthropicTools(out: Record<string, unknown>, stripped: ReadonlySet<string>): void {
  if (Array.isArray(out.tools)) {
    const kept = out.tools.filter((t) => !stripped.has(String((t as { name?: unknown }).name)));
    if (kept.length > 0) out.tools = kept;
    else delete out.tools;
  }
  const choice = out.tool_choice as { name?: unknown } | null | undefined;
  if (choice !== undefined && (out.tools === undefined || (typeof choice?.name === 'string' && stripped.has(choice.name)))) delete out.tool_choice;
}
