import type { ModelCall } from '../../contracts/call';
import { countText } from '../../engine/tokens/count';
import type { GenAiOperation, PlainRequest, ProviderAdapter, RequestChanges, SdkCall, SdkEnvironment, StreamTap } from '../adapter';
import type { ErrorDetails, ErrorKind } from '../../contracts/refusal';
import { notEntitledCode } from '../../contracts/refusal';
import type { ResponseNames, UsageReading } from '../usage';
import { newReading, noteToolCall, num, readResponseNames } from '../usage';
import { describeOpenAICall, openaiOutputField, openaiOutputFields, openaiRoutes } from './request';
import { openaiToolFields, stripOpenAITools } from './tools';
import type { OpenAIUsage } from './wire';

const errorTypes: Record<ErrorKind, { type: string; code: string | null }> = {
  'rate-limit': { type: 'rate_limit_exceeded', code: 'rate_limit_exceeded' },
  trace: { type: 'rate_limit_exceeded', code: 'rate_limit_exceeded' },
  budget: { type: 'insufficient_quota', code: 'insufficient_quota' },
  // The code names what is denied (route, provider, model): notEntitledCode.
  entitlement: { type: 'permission_error', code: null },
  forbidden: { type: 'permission_error', code: 'forbidden' },
  context: { type: 'invalid_request_error', code: 'context_length_exceeded' },
  identity: { type: 'invalid_request_error', code: 'invalid_api_key' },
  'bad-request': { type: 'invalid_request_error', code: null },
  'too-large': { type: 'invalid_request_error', code: 'request_too_large' },
  'not-found': { type: 'invalid_request_error', code: 'not_found' },
  upstream: { type: 'api_error', code: 'upstream_error' },
  timeout: { type: 'api_error', code: 'upstream_timeout' },
  unavailable: { type: 'server_error', code: 'service_unavailable' },
};

/**
 * An error in OpenAI's shape. A context overflow is worded as OpenAI words a prompt over the
 * model's window (frameworks and agents match that text to trim or compact the prompt), followed
 * by the message a person reads.
 */
export function openaiErrorBody(kind: ErrorKind, message: string, details?: ErrorDetails): unknown {
  const t = errorTypes[kind];
  if (kind === 'context') {
    const max = details?.maxInputTokens;
    const n = details?.inputTokens;
    const overflow = max !== undefined && n !== undefined
      ? `This model's maximum context length is ${max} tokens. However, your messages resulted in ${n} tokens. Please reduce the length of the messages. `
      : '';
    return { error: { message: `${overflow}${message}`, type: t.type, param: 'messages', code: t.code } };
  }
  const code = kind === 'entitlement' ? notEntitledCode(details?.notEntitled) : t.code;
  return { error: { message, type: t.type, param: null, code } };
}

/** Chat and completions name usage one way, the Responses API another; cached input and reasoning are parts of the totals. */
function readUsage(u: OpenAIUsage | null | undefined, r: UsageReading): void {
  if (!u || typeof u !== 'object') return;
  const input = num(u.prompt_tokens) ?? num(u.input_tokens);
  const output = num(u.completion_tokens) ?? num(u.output_tokens);
  if (input !== undefined) r.input = input;
  if (output !== undefined) r.output = output;
  const cached = num(u.prompt_tokens_details?.cached_tokens) ?? num(u.input_tokens_details?.cached_tokens);
  const reasoning = num(u.completion_tokens_details?.reasoning_tokens) ?? num(u.output_tokens_details?.reasoning_tokens);
  if (cached !== undefined) r.cacheRead = cached;
  if (reasoning !== undefined) r.reasoning = reasoning;
}

/** The name a Responses API output item that is a tool call goes by, or undefined for any other item. */
function responsesCallName(item: unknown): string | undefined {
  if (item === null || typeof item !== 'object') return undefined;
  const i = item as { type?: unknown; name?: unknown };
  if (typeof i.type !== 'string' || !i.type.endsWith('_call')) return undefined;
  // Function, custom and MCP tools are called by name; built-in tools (web_search_call) by their type.
  if (typeof i.name === 'string') return i.name;
  return i.type.slice(0, -'_call'.length);
}

/** Counts the tool calls of a whole reply: chat choices' `tool_calls` (and legacy `function_call`), or Responses output items. */
function readToolCalls(json: Record<string, unknown>, r: UsageReading): void {
  if (Array.isArray(json.choices)) {
    for (const c of json.choices as { message?: { tool_calls?: unknown; function_call?: { name?: unknown } | null } }[]) {
      const m = c?.message;
      if (!m || typeof m !== 'object') continue;
      if (Array.isArray(m.tool_calls)) {
        for (const t of m.tool_calls as { function?: { name?: unknown }; custom?: { name?: unknown } }[]) noteToolCall(r, t?.function?.name ?? t?.custom?.name);
      }
      if (m.function_call && typeof m.function_call === 'object') noteToolCall(r, m.function_call.name);
    }
  }
  if (Array.isArray(json.output)) {
    for (const item of json.output as unknown[]) {
      const name = responsesCallName(item);
      if (name !== undefined) noteToolCall(r, name);
    }
  }
}

/** Collects what a streamed delta says the model produced, for an estimate if usage never comes. */
function collectText(event: Record<string, unknown>, r: UsageReading): void {
  const choices = event.choices;
  if (Array.isArray(choices)) {
    for (const c of choices as { delta?: { content?: unknown; tool_calls?: { function?: { arguments?: unknown } }[] }; text?: unknown }[]) {
      if (typeof c.delta?.content === 'string') r.outputText += c.delta.content;
      if (typeof c.text === 'string') r.outputText += c.text;
      for (const t of c.delta?.tool_calls ?? []) if (typeof t.function?.arguments === 'string') r.outputText += t.function.arguments;
    }
  }
  if (typeof event.delta === 'string') r.outputText += event.delta;
}

/** Chat chunks name the response at their top; the Responses API's events in their `response`. */
function readNames(event: Record<string, unknown>, into: ResponseNames): void {
  const response = event.response;
  if (response && typeof response === 'object') {
    const r = response as { id?: unknown; model?: unknown };
    readResponseNames(r.id, r.model, into);
  } else readResponseNames(event.id, event.model, into);
}

class OpenAIStreamTap implements StreamTap {
  readonly reading = newReading();
  readonly response: ResponseNames = {};
  /** Tool calls already counted: chat's by choice and tool index, the Responses API's by output index. */
  private readonly calls = new Set<string>();
  constructor(private readonly stripUsage: boolean) {}

  /** Counts each tool call once, however many chunks carry it. */
  private toolCalls(event: Record<string, unknown>): void {
    if (Array.isArray(event.choices)) {
      for (const c of event.choices as { index?: unknown; delta?: { tool_calls?: unknown; function_call?: { name?: unknown } | null } }[]) {
        const d = c?.delta;
        if (!d || typeof d !== 'object') continue;
        if (Array.isArray(d.tool_calls)) {
          for (const t of d.tool_calls as { index?: unknown; function?: { name?: unknown } }[]) {
            // The first chunk of a call names it; later ones only add to its arguments.
            if (typeof t?.function?.name !== 'string') continue;
            this.once(`c${String(c.index)}:${String(t.index)}`, t.function.name);
          }
        }
        if (d.function_call && typeof d.function_call.name === 'string') this.once(`f${String(c.index)}`, d.function_call.name);
      }
      return;
    }
    const type = event.type;
    if (type === 'response.output_item.added' || type === 'response.output_item.done') {
      const name = responsesCallName(event.item);
      if (name !== undefined) this.once(`o${String(event.output_index)}`, name);
    } else if (type === 'response.completed' || type === 'response.incomplete') {
      const output = (event.response as { output?: unknown } | undefined)?.output;
      if (Array.isArray(output)) output.forEach((item, i) => {
        const name = responsesCallName(item);
        if (name !== undefined) this.once(`o${i}`, name);
      });
    }
  }

  private once(key: string, name: string): void {
    if (this.calls.has(key)) return;
    this.calls.add(key);
    noteToolCall(this.reading, name);
  }

  event(data: string): string | null {
    if (data === '[DONE]') return data;
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return data;
    }
    collectText(event, this.reading);
    this.toolCalls(event);
    readNames(event, this.response);
    readUsage(event.usage as OpenAIUsage | undefined, this.reading);
    const response = event.response as { usage?: OpenAIUsage } | undefined;
    if (response?.usage) readUsage(response.usage, this.reading);
    if (!this.stripUsage) return data;
    // The proxy asked for usage the client did not: drop the usage-only chunk and the null
    // usage field, so the client receives exactly the stream it asked for.
    if (Array.isArray(event.choices) && event.choices.length === 0 && event.usage) return null;
    if ('usage' in event) {
      delete event.usage;
      return JSON.stringify(event);
    }
    return data;
  }
}

/** The SDK methods that call each route, longest accessor chain first (`chat.completions` before `completions`). */
const sdkCalls: readonly SdkCall[] = [
  { chain: ['chat', 'completions'], methods: ['create', 'parse', 'stream'], streamMethods: ['stream'], api: 'chat', route: '/v1/chat/completions' },
  { chain: ['completions'], methods: ['create', 'parse', 'stream'], streamMethods: ['stream'], api: 'completions', route: '/v1/completions' },
  { chain: ['responses'], methods: ['create', 'parse', 'stream'], streamMethods: ['stream'], api: 'responses', route: '/v1/responses' },
  { chain: ['embeddings'], methods: ['create'], streamMethods: [], api: 'embeddings', route: '/v1/embeddings' },
];

function requestFor(route: string, r: PlainRequest): Record<string, unknown> {
  const stream = r.stream ? { stream: true } : {};
  switch (route) {
    case '/v1/responses': {
      const system = r.messages.filter((m) => m.role === 'system').map((m) => m.content);
      const input = r.messages.filter((m) => m.role !== 'system');
      return { model: r.model, ...(system.length ? { instructions: system.join('\n') } : {}), input, ...(r.maxTokens !== undefined ? { max_output_tokens: r.maxTokens } : {}), ...stream };
    }
    case '/v1/embeddings':
      return { model: r.model, input: r.messages.map((m) => m.content) };
    case '/v1/completions':
      return { model: r.model, prompt: r.messages.map((m) => m.content).join('\n'), ...(r.maxTokens !== undefined ? { max_tokens: r.maxTokens } : {}), ...stream };
    default:
      return { model: r.model, messages: r.messages.length ? r.messages : [{ role: 'user', content: '' }], ...(r.maxTokens !== undefined ? { max_tokens: r.maxTokens } : {}), ...stream };
  }
}

/** The legacy completions API is `text_completion`; chat completions and responses are `chat`. */
export function openaiOperation(route: string): GenAiOperation {
  return /(^|\/)completions$/.test(route) && !route.endsWith('/chat/completions') ? 'text_completion' : 'chat';
}

export const openaiAdapter: ProviderAdapter = {
  style: 'openai',
  title: 'OpenAI',
  routes: openaiRoutes,
  defaultRoute: '/v1/chat/completions',
  genAi: { provider: 'openai', generateOperation: openaiOperation },
  // The SDKs send `Authorization: Bearer`; some agents send x-api-key to any base URL.
  clientKeys: [{ header: 'authorization', scheme: 'Bearer' }, { header: 'x-api-key' }],
  officialHosts: ['api.openai.com'],
  keyRules: ['openai-project-key', 'openai-service-account-key', 'openai-user-key'],
  sdkCalls,
  // openai-organization and openai-project choose which account is billed: the bundle's choice.
  clientHeaders: [],
  rewriteFields: ['model', ...openaiOutputFields, 'user', 'stream_options'],
  toolFields: openaiToolFields,

  describe(provider: string, route: string, method: string, body: unknown): ModelCall {
    return describeOpenAICall(provider, route, method, body);
  },

  rewrite(body: Record<string, unknown>, call: ModelCall, changes: RequestChanges): { body: Record<string, unknown>; strippedUsage: boolean } {
    const out: Record<string, unknown> = { ...body };
    if (changes.model && call.model !== changes.model) out.model = changes.model;
    const field = openaiOutputField(call.route);
    if (changes.outputCap !== undefined && field) {
      // Whichever output field the client used is the one clamped; an absent one gets the route's own.
      const used = openaiOutputFields.filter((f) => out[f] !== undefined && out[f] !== null);
      if (used.length === 0) out[field] = changes.outputCap;
      for (const f of used) out[f] = Math.min(out[f] as number, changes.outputCap);
    }
    if (changes.pseudonym && call.kind !== 'passthrough') out.user = changes.pseudonym;
    if (changes.stripTools?.length) stripOpenAITools(out, call.route, new Set(changes.stripTools));
    let strippedUsage = false;
    if (call.stream && (call.route === '/v1/chat/completions' || call.route === '/v1/completions')) {
      const opts = (out.stream_options ?? {}) as { include_usage?: boolean };
      if (opts.include_usage !== true) {
        out.stream_options = { ...opts, include_usage: true };
        strippedUsage = true;
      }
    }
    return { body: out, strippedUsage };
  },

  authHeaders(key: string): Record<string, string> {
    return { authorization: `Bearer ${key}` };
  },

  errorBody(kind: ErrorKind, message: string, details?: ErrorDetails): unknown {
    return openaiErrorBody(kind, message, details);
  },

  usageFromBody(json: unknown): UsageReading {
    const r = newReading();
    if (json && typeof json === 'object') {
      readUsage((json as { usage?: OpenAIUsage }).usage, r);
      readToolCalls(json as Record<string, unknown>, r);
    }
    return r;
  },

  responseFromBody(json: unknown): ResponseNames {
    const names: ResponseNames = {};
    if (json && typeof json === 'object') readNames(json as Record<string, unknown>, names);
    return names;
  },

  streamTap(stripUsage: boolean): StreamTap {
    return new OpenAIStreamTap(stripUsage);
  },

  countOutput: countText,

  requestFor,

  /** OpenAI's SDKs expect `/v1` in the base URL. */
  sdkEnvironment(providerUrl: string, sessionToken: string): SdkEnvironment {
    return { baseUrl: { name: 'OPENAI_BASE_URL', value: `${providerUrl}/v1` }, apiKey: { name: 'OPENAI_API_KEY', value: sessionToken } };
  },
};
