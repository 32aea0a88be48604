import { hasKeys, MAX_DECLARED_TOOLS, toolArray, ToolNames, toolName, toolObject } from '../declared-tools';
import { MalformedRequestError } from '../../contracts/call';

// The tools a Gemini request declares, and the request without some of them. A function is
// named by `tools[].functionDeclarations[].name`; a built-in tool (googleSearch, codeExecution,
// urlContext, ...) by its key. Google's JSON accepts snake_case too: read as camelCase.

function camel(key: string): string {
  return key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

const DECLARATIONS = 'functionDeclarations';

export function geminiTools(b: { tools?: unknown }): readonly string[] | undefined {
  const names = new ToolNames();
  let count = 0;
  (toolArray(b.tools, 'tools') ?? []).forEach((t, i) => {
    const tool = toolObject(t, `tools[${i}]`);
    for (const key of Object.keys(tool)) {
      if (camel(key) !== DECLARATIONS) {
        names.add(toolName(camel(key), `tools[${i}] key`));
        count++;
        continue;
      }
      const declarations = toolArray(tool[key], `tools[${i}].${key}`) ?? [];
      count += declarations.length;
      if (count > MAX_DECLARED_TOOLS) throw new MalformedRequestError(`the request declares more than ${MAX_DECLARED_TOOLS} tools`);
      declarations.forEach((d, j) => names.add(toolName(toolObject(d, `tools[${i}].${key}[${j}]`).name, `tools[${i}].${key}[${j}].name`)));
    }
  });
  return names.list();
}

/** The fields that declare or choose tools; a large body parses them only to strip tools. */
export const geminiToolFields = ['tools', 'toolConfig', 'tool_config'] as const;

/**
 * Removes the `stripped` tools (in place on a copy): declarations, built-in tools, and names in
 * the function-calling config. A tool object left empty goes; with no tool left, so does the config.
 */
export function stripGeminiTools(out: Record<string, unknown>, stripped: ReadonlySet<string>): void {
  if (Array.isArray(out.tools)) {
    const kept: Record<string, unknown>[] = [];
    for (const t of out.tools as Record<string, unknown>[]) {
      const tool: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(t)) {
        if (camel(key) !== DECLARATIONS) {
          if (!stripped.has(camel(key))) tool[key] = value;
          continue;
        }
        const declarations = (value as { name?: unknown }[]).filter((d) => !stripped.has(String(d.name)));
        if (declarations.length > 0) tool[key] = declarations;
      }
      if (hasKeys(tool)) kept.push(tool);
    }
    if (kept.length > 0) out.tools = kept;
    else delete out.tools;
  }
  for (const field of ['toolConfig', 'tool_config']) {
    const config = out[field];
    if (config === undefined) continue;
    if (out.tools === undefined) {
      delete out[field];
      continue;
    }
    out[field] = configWithout(config, stripped);
  }
}

/** A tool config whose allowed function names leave out `stripped`; a list left empty goes, and `ANY` with it. */
function configWithout(config: unknown, stripped: ReadonlySet<string>): unknown {
  if (config === null || typeof config !== 'object') return config;
  const out: Record<string, unknown> = { ...(config as Record<string, unknown>) };
  for (const ck of ['functionCallingConfig', 'function_calling_config']) {
    const fc = out[ck];
    if (fc === null || typeof fc !== 'object') continue;
    const f: Record<string, unknown> = { ...(fc as Record<string, unknown>) };
    for (const nk of ['allowedFunctionNames', 'allowed_function_names']) {
      const list = f[nk];
      if (!Array.isArray(list)) continue;
      const kept = list.filter((n) => !stripped.has(String(n)));
      if (kept.length > 0) f[nk] = kept;
      else {
        delete f[nk];
        // ANY restricted to names no longer declared would force a call of any other function.
        if (f.mode === 'ANY') f.mode = 'AUTO';
      }
    }
    out[ck] = f;
  }
  return out;
}
