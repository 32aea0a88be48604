import type { Usage } from '../engine/decision';
import { MAX_TOOL_NAMES } from '../engine/decision';

/**
 * Token usage as a provider reported it, or what can be estimated of it. "Unknown" is kept apart
 * from zero: a call whose usage never arrived is charged at its reserved worst case, not free.
 */
export interface UsageReading {
  /** All input, cached included (the OpenTelemetry GenAI convention). */
  input?: number;
  /** All output, reasoning included. */
  output?: number;
  /** Of the input, tokens read from the provider's prompt cache. */
  cacheRead?: number;
  /** Of the input, tokens written to the cache at the provider's default (5-minute) price. */
  cacheWrite?: number;
  /** Of the input, tokens written to Anthropic's 1-hour cache. */
  cacheWrite1h?: number;
  /** Of the output, reasoning (thinking) tokens. */
  reasoning?: number;
  /** Output text seen in a stream, counted when the stream ends before usage arrives. */
  outputText: string;
  /** Tool calls the response asked for so far (each once); absent: none yet. */
  toolCalls?: number;
  /** The name of each, in order, the first MAX_TOOL_NAMES of them. */
  toolNames?: string[];
}

/** Counts one tool call the response asks for; a name an upstream could make anything of is bounded. */
export function noteToolCall(r: UsageReading, name: unknown): void {
  r.toolCalls = (r.toolCalls ?? 0) + 1;
  const names = (r.toolNames ??= []);
  if (names.length < MAX_TOOL_NAMES) names.push(typeof name === 'string' && name !== '' ? name.slice(0, maxNameLength) : '(unnamed)');
}

/**
 * What a response says it is: its id and the model that served it (`gen_ai.response.id`,
 * `gen_ai.response.model`), kept apart from the usage reading so that reading stays the numbers.
 */
export interface ResponseNames {
  id?: string;
  model?: string;
}

/** The longest id or model name taken from a response: the upstream's text, bounded. */
const maxNameLength = 256;

/** Takes `id` and `model` when they are non-empty strings (an upstream could send anything). */
export function readResponseNames(id: unknown, model: unknown, into: ResponseNames): void {
  if (typeof id === 'string' && id !== '') into.id = id.slice(0, maxNameLength);
  if (typeof model === 'string' && model !== '') into.model = model.slice(0, maxNameLength);
}

export function newReading(): UsageReading {
  return { outputText: '' };
}

/** The usage to settle: reported if complete; after an abort, what was produced so far. */
export function settleUsage(r: UsageReading, countedInput: number, countOutput: (text: string) => number, aborted: boolean): Usage | undefined {
  if (r.input !== undefined && r.output !== undefined) return { input_tokens: r.input, output_tokens: r.output, ...billedParts(r) };
  if (!aborted) return undefined;
  return { input_tokens: r.input ?? countedInput, output_tokens: r.output ?? countOutput(r.outputText), ...billedParts(r) };
}

/** The parts of the usage the provider reported, each only when it did (absent is not zero), and the tool calls read. */
function billedParts(r: UsageReading): Partial<Usage> {
  const parts: { -readonly [K in keyof Usage]?: Usage[K] } = { tool_calls: r.toolCalls ?? 0, tool_names: r.toolNames ?? [] };
  if (r.cacheRead !== undefined) parts.cache_read_input_tokens = r.cacheRead;
  if (r.cacheWrite !== undefined || r.cacheWrite1h !== undefined) parts.cache_write_input_tokens = (r.cacheWrite ?? 0) + (r.cacheWrite1h ?? 0);
  if (r.cacheWrite1h !== undefined) parts.cache_write_1h_input_tokens = r.cacheWrite1h;
  if (r.reasoning !== undefined) parts.reasoning_output_tokens = r.reasoning;
  return parts;
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}
