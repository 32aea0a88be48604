import { toolArray, ToolNames, toolName, toolObject } from '../declared-tools';

// The tools an OpenAI-style request declares, and the request without some of them. Chat
// completions name a function tool in `tools[].function.name` (a custom tool in `custom.name`,
// the legacy `functions[].name`); the Responses API names function and custom tools by `name`
// and its built-in tools (web_search, file_search, code_interpreter, mcp, ...) by their `type`.

/** Chat completions' declared tools. */
export function chatTools(b: { tools?: unknown; functions?: unknown }): readonly string[] | undefined {
  const names = new ToolNames();
  const tools = toolArray(b.tools, 'tools') ?? [];
  tools.forEach((t, i) => names.add(chatToolName(toolObject(t, `tools[${i}]`), i)));
  const functions = toolArray(b.functions, 'functions') ?? [];
  functions.forEach((f, i) => names.add(toolName(toolObject(f, `functions[${i}]`).name, `functions[${i}].name`)));
  return names.list();
}

function chatToolName(t: Record<string, unknown>, i: number): string {
  const type = t.type ?? 'function';
  if (type === 'function') return toolName(toolObject(t.function, `tools[${i}].function`).name, `tools[${i}].function.name`);
  if (type === 'custom') return toolName(toolObject(t.custom, `tools[${i}].custom`).name, `tools[${i}].custom.name`);
  return toolName(type, `tools[${i}].type`);
}

/** The Responses API's declared tools. */
export function responsesTools(b: { tools?: unknown }): readonly string[] | undefined {
  const names = new ToolNames();
  (toolArray(b.tools, 'tools') ?? []).forEach((t, i) => names.add(responsesToolName(toolObject(t, `tools[${i}]`), i)));
  return names.list();
}

function responsesToolName(t: Record<string, unknown>, i: number): string {
  if (t.type === 'function' || t.type === 'custom') return toolName(t.name, `tools[${i}].name`);
  return toolName(t.type, `tools[${i}].type`);
}

/** The name a tool choice forces, if it names one. */
function choiceName(choice: unknown): string | undefined {
  if (choice === null || typeof choice !== 'object') return undefined;
  const c = choice as { type?: unknown; name?: unknown; function?: { name?: unknown }; custom?: { name?: unknown } };
  if (typeof c.function?.name === 'string') return c.function.name;
  if (typeof c.custom?.name === 'string') return c.custom.name;
  if (typeof c.name === 'string') return c.name;
  // A hosted tool chosen by its type (Responses: { type: 'web_search_preview' }).
  if (typeof c.type === 'string' && !['function', 'custom', 'allowed_tools', 'auto', 'none', 'required'].includes(c.type)) return c.type;
  return undefined;
}

/** A tool choice once `stripped` are gone: unchanged, narrowed (allowed_tools), or undefined when it named a stripped tool. */
function choiceWithout(choice: unknown, stripped: ReadonlySet<string>): unknown {
  if (choice === null || typeof choice !== 'object') return choice;
  const c = choice as { type?: unknown; tools?: unknown; allowed_tools?: { tools?: unknown } };
  if (c.type === 'allowed_tools') {
    // Chat nests the list in `allowed_tools`, the Responses API keeps it at the top.
    const nested = c.allowed_tools !== null && typeof c.allowed_tools === 'object';
    const list = nested ? c.allowed_tools!.tools : c.tools;
    if (!Array.isArray(list)) return choice;
    const kept = list.filter((t) => !stripped.has(choiceName(t) ?? ''));
    if (kept.length === 0) return undefined;
    return nested ? { ...c, allowed_tools: { ...c.allowed_tools, tools: kept } } : { ...c, tools: kept };
  }
  const name = choiceName(choice);
  return name !== undefined && stripped.has(name) ? undefined : choice;
}

/** The fields that declare or choose tools; a large body parses them only to strip tools. */
export const openaiToolFields = ['tools', 'functions', 'tool_choice', 'function_call', 'parallel_tool_calls'] as const;

/**
 * Removes the `stripped` tools from a request (in place on `out`, a copy of the body). A tool
 * choice naming one goes; with no tool left, the tool fields go too, which the API requires.
 */
export function stripOpenAITools(out: Record<string, unknown>, route: string, stripped: ReadonlySet<string>): void {
  const responses = route === '/v1/responses';
  const nameOf = (t: unknown, i: number): string => {
    const o = t as Record<string, unknown>;
    return responses ? responsesToolName(o, i) : chatToolName(o, i);
  };
  if (Array.isArray(out.tools)) {
    const kept = out.tools.filter((t, i) => !stripped.has(nameOf(t, i)));
    if (kept.length > 0) out.tools = kept;
    else delete out.tools;
  }
  if (Array.isArray(out.functions)) {
    const kept = out.functions.filter((f) => !stripped.has(String((f as { name?: unknown }).name)));
    if (kept.length > 0) out.functions = kept;
    else delete out.functions;
  }
  if (out.tool_choice !== undefined) {
    const choice = choiceWithout(out.tool_choice, stripped);
    if (choice === undefined || out.tools === undefined) delete out.tool_choice;
    else out.tool_choice = choice;
  }
  if (out.function_call !== undefined) {
    const named = (out.function_call as { name?: unknown } | null)?.name;
    if (out.functions === undefined || (typeof named === 'string' && stripped.has(named))) delete out.function_call;
  }
  if (out.tools === undefined && out.functions === undefined) delete out.parallel_tool_calls;
}
