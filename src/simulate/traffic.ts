import type { ModelCall, StyleName } from '../contracts/call';
import { MalformedRequestError } from '../contracts/call';
import type { Policy } from '../engine/policy/model';
import { MCP_PROVIDER, mcpToolCall } from '../engine/tools';
import type { ProviderAdapter } from '../providers/adapter';
import { adapterFor, ProviderRegistryError } from '../providers/registry';

// One line of a traffic file (docs/traffic.md): a request as simulate replays it. Lines are JSON
// objects, one per line, in time order; a blank line or one starting with `#` is skipped.

export interface TrafficMessage {
  readonly role: string;
  readonly content: string;
}

/** What every line says: when, and who. */
interface LineIdentity {
  /** Milliseconds since the epoch, parsed from the line's ISO 8601 `time`. */
  readonly time: number;
  readonly user: string;
  readonly agent?: string;
  readonly roles?: readonly string[];
  /** Labels the request carried (what the ledger recorded), so weights and `when` filters replay. */
  readonly classification?: readonly string[];
}

/** A model call. */
export interface ModelTrafficLine extends LineIdentity {
  readonly provider: string;
  readonly route?: string;
  readonly model: string;
  readonly inputTokens?: number;
  readonly messages?: readonly TrafficMessage[];
  readonly maxTokens?: number;
  readonly outputTokens?: number;
  /** Of the input, cache reads and (5-minute) cache writes the call really made: priced apart. */
  readonly cacheReadTokens?: number;
  readonly cacheWriteTokens?: number;
  readonly trace?: string;
  /** The tools the request declared to the model, by name: checked against the bundle's tools section. */
  readonly tools?: readonly string[];
  /** The tool calls the response asked for; without it, a call declaring tools is charged the one it held. */
  readonly toolCalls?: number;
}

/** An MCP tools/call through the gateway (`provider: "mcp"`): the server and the server's own name for the tool. */
export interface ToolTrafficLine extends LineIdentity {
  readonly provider: typeof MCP_PROVIDER;
  readonly server: string;
  readonly tool: string;
}

export type TrafficLine = ModelTrafficLine | ToolTrafficLine;

export function isToolLine(t: TrafficLine): t is ToolTrafficLine {
  return t.provider === MCP_PROVIDER;
}

export type TrafficErrorReason = 'json' | 'field' | 'order' | 'provider' | 'request';

/** A traffic line that cannot be replayed; `line` is 1-based, as editors count. */
export class TrafficError extends Error {
  constructor(
    readonly reason: TrafficErrorReason,
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'TrafficError';
  }
  static is(err: unknown, reason?: TrafficErrorReason): err is TrafficError {
    return err instanceof TrafficError && (reason === undefined || err.reason === reason);
  }
}

const FIELDS = new Set(['time', 'user', 'agent', 'roles', 'provider', 'route', 'model', 'input_tokens', 'messages', 'max_tokens', 'output_tokens', 'cache_read_input_tokens', 'cache_write_input_tokens', 'trace', 'classification', 'tools', 'tool_calls']);
/** An MCP line names a server and a tool and nothing a model call counts: the gateway decides it on those and the identity alone. */
const TOOL_FIELDS = new Set(['time', 'user', 'agent', 'roles', 'provider', 'server', 'tool', 'classification']);

function count(o: Record<string, unknown>, name: string, line: number): number | undefined {
  const v = o[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new TrafficError('field', line, `"${name}" must be a non-negative integer`);
  return v;
}

function text(o: Record<string, unknown>, name: string, line: number, required: boolean): string | undefined {
  const v = o[name];
  if (v === undefined || v === null) {
    if (required) throw new TrafficError('field', line, `"${name}" is required`);
    return undefined;
  }
  if (typeof v !== 'string' || v === '') throw new TrafficError('field', line, `"${name}" must be a non-empty string`);
  return v;
}

function strings(o: Record<string, unknown>, name: string, line: number): string[] | undefined {
  const v = o[name];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new TrafficError('field', line, `"${name}" must be an array of strings`);
  return v as string[];
}

/** Parses one line's text; returns undefined for a blank or comment line. */
export function parseTrafficLine(source: string, line: number): TrafficLine | undefined {
  const trimmed = source.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (err) {
    throw new TrafficError('json', line, `not JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TrafficError('json', line, 'a traffic line must be a JSON object');
  const o = value as Record<string, unknown>;
  if (o.provider === MCP_PROVIDER) return toolLineOf(o, line);
  for (const k of Object.keys(o)) if (!FIELDS.has(k)) throw new TrafficError('field', line, TOOL_FIELDS.has(k) ? `"${k}" belongs to an MCP line ("provider": "${MCP_PROVIDER}")` : `unknown field "${k}"`);
  const time = timeOf(o, line);
  const inputTokens = count(o, 'input_tokens', line);
  let messages: TrafficMessage[] | undefined;
  if (o.messages !== undefined) {
    if (!Array.isArray(o.messages) || o.messages.length === 0) throw new TrafficError('field', line, '"messages" must be a non-empty array');
    messages = o.messages.map((m: unknown) => {
      const mm = m as { role?: unknown; content?: unknown } | null;
      if (!mm || typeof mm !== 'object' || typeof mm.role !== 'string' || typeof mm.content !== 'string') {
        throw new TrafficError('field', line, 'every message must be {"role": string, "content": string}');
      }
      return { role: mm.role, content: mm.content };
    });
  }
  if ((inputTokens === undefined) === (messages === undefined)) throw new TrafficError('field', line, 'give exactly one of "input_tokens" and "messages"');
  const route = text(o, 'route', line, false);
  if (route !== undefined && !route.startsWith('/')) throw new TrafficError('field', line, `"route" must be a path like /v1/chat/completions, not '${route}'`);
  return {
    time,
    user: text(o, 'user', line, true)!,
    agent: text(o, 'agent', line, false),
    roles: strings(o, 'roles', line),
    provider: text(o, 'provider', line, true)!,
    route,
    model: text(o, 'model', line, true)!,
    inputTokens,
    messages,
    maxTokens: count(o, 'max_tokens', line),
    outputTokens: count(o, 'output_tokens', line),
    cacheReadTokens: count(o, 'cache_read_input_tokens', line),
    cacheWriteTokens: count(o, 'cache_write_input_tokens', line),
    trace: text(o, 'trace', line, false),
    classification: strings(o, 'classification', line),
    tools: strings(o, 'tools', line),
    toolCalls: count(o, 'tool_calls', line),
  };
}

function timeOf(o: Record<string, unknown>, line: number): number {
  const timeText = text(o, 'time', line, true)!;
  const time = Date.parse(timeText);
  if (Number.isNaN(time)) throw new TrafficError('field', line, `"time" must be an ISO 8601 time, not '${timeText}'`);
  return time;
}

/** MCP server names as the bundle allows them (the schema's pattern): never a `/`, so a route `<server>/<tool>` splits at its first. */
const SERVER_NAME = /^[a-z0-9][a-z0-9_-]*$/;

function toolLineOf(o: Record<string, unknown>, line: number): ToolTrafficLine {
  for (const k of Object.keys(o)) {
    if (!TOOL_FIELDS.has(k)) throw new TrafficError('field', line, FIELDS.has(k) ? `"${k}" does not apply to an MCP line (it takes ${[...TOOL_FIELDS].join(', ')})` : `unknown field "${k}"`);
  }
  const time = timeOf(o, line);
  const server = text(o, 'server', line, true)!;
  if (!SERVER_NAME.test(server)) throw new TrafficError('field', line, `"server" must be an MCP server's name as the bundle names it (lower-case letters, digits, "_" and "-"), not '${server}'`);
  return {
    time,
    user: text(o, 'user', line, true)!,
    agent: text(o, 'agent', line, false),
    roles: strings(o, 'roles', line),
    provider: MCP_PROVIDER,
    server,
    tool: text(o, 'tool', line, true)!,
    classification: strings(o, 'classification', line),
  };
}

/** The route a line means when it names none: its provider style's generating route. */
export function defaultRoute(style: StyleName): string {
  return adapterFor(style).defaultRoute;
}

/**
 * The engine's ModelCall for a line. Messages become a request of the provider's style and go
 * through its adapter, so they are counted exactly as the proxy counts them; `input_tokens` is
 * taken as already counted.
 */
export function callFor(policy: Policy, t: TrafficLine, line: number): ModelCall {
  // The same call the gateway decides for a tools/call; its arguments are not in a traffic line, so detectors read nothing and `classification` says what they found.
  if (isToolLine(t)) return mcpToolCall(t.server, t.tool);
  const provider = policy.providers.get(t.provider);
  if (!provider) throw new TrafficError('provider', line, `provider '${t.provider}' is not in the policy (${[...policy.providers.keys()].join(', ') || 'none'})`);
  let adapter: ProviderAdapter;
  try {
    adapter = adapterFor(provider.style);
  } catch (err) {
    if (ProviderRegistryError.is(err)) throw new TrafficError('provider', line, err.message);
    throw err;
  }
  // A line without max_tokens is held at the policy's reserve where the style requires one.
  const plain = { model: t.model, messages: t.messages ?? [], maxTokens: t.maxTokens, reserveOutputTokens: policy.guards.reserveOutputTokens };
  const asked = t.route ?? adapter.defaultRoute;
  // A style that names the model in the path (Gemini) fills it in from the line.
  const route = adapter.routeFor?.(asked, plain) ?? asked;
  const match = adapter.routes.match('POST', route);
  if (t.messages) {
    const body = adapter.requestFor(route, plain);
    try {
      const described = adapter.describe(t.provider, route, 'POST', body, provider.deployments ? { deployments: provider.deployments } : undefined);
      return t.tools?.length ? { ...described, tools: [...new Set(t.tools)] } : described;
    } catch (err) {
      if (MalformedRequestError.is(err)) throw new TrafficError('request', line, err.message);
      throw err;
    }
  }
  const embed = match.ok && match.spec.kind === 'embed';
  // A line for an Azure provider may name a deployment: the engine decides on the model it serves.
  const model = provider.deployments && Object.hasOwn(provider.deployments, t.model) ? provider.deployments[t.model] : t.model;
  return {
    provider: t.provider, style: provider.style, route, kind: embed ? 'embed' : 'generate', model, stream: false,
    inputTokens: t.inputTokens ?? 0, requestedOutputTokens: embed ? 0 : t.maxTokens, choices: 1, texts: [],
    ...(t.tools?.length ? { tools: [...new Set(t.tools)] } : {}),
  };
}
