import type { ModelCall } from '../../contracts/call';
import { countAnthropicText } from './count';
import type { PlainRequest, ProviderAdapter, RequestChanges, SdkEnvironment, StreamTap } from '../adapter';
import type { ErrorDetails, ErrorKind } from '../../contracts/refusal';
import type { ResponseNames, UsageReading } from '../usage';
import { newReading, noteToolCall, num, readResponseNames } from '../usage';
import { anthropicRoutes, describeAnthropicCall } from './request';
import { anthropicToolFields, stripAnthropicTools } from './tools';
import type { AnthropicUsage } from './wire';

const errorTypes: Record<ErrorKind, string> = {
  'rate-limit': 'rate_limit_error',
  trace: 'rate_limit_error',
  budget: 'rate_limit_error',
  entitlement: 'permission_error',
  forbidden: 'permission_error',
  context: 'invalid_request_error',
  identity: 'authentication_error',
  'bad-request': 'invalid_request_error',
  'too-large': 'request_too_large',
  'not-found': 'not_found_error',
  upstream: 'api_error',
  timeout: 'api_error',
  unavailable: 'overloaded_error',
};

/**
 * Anthropic's `input_tokens` is only the uncached input: cache reads and cache writes are input
 * too, billed at their own prices, so the reading keeps the total and names each part. A count the
 * event does not give leaves what an earlier event said (message_delta repeats only some).
 */
function readUsage(u: AnthropicUsage | undefined, r: UsageReading): void {
  if (!u || typeof u !== 'object') return;
  const uncached = num(u.input_tokens);
  const read = num(u.cache_read_input_tokens);
  const split = u.cache_creation && typeof u.cache_creation === 'object' ? u.cache_creation : undefined;
  const written5m = num(split?.ephemeral_5m_input_tokens);
  const written1h = num(split?.ephemeral_1h_input_tokens);
  const splitTotal = written5m === undefined && written1h === undefined ? undefined : (written5m ?? 0) + (written1h ?? 0);
  const written = num(u.cache_creation_input_tokens) ?? splitTotal;
  if (read !== undefined) r.cacheRead = read;
  // cacheWrite is the 5-minute writes, cacheWrite1h the 1-hour ones: they are priced apart.
  if (written !== undefined) {
    if (written1h !== undefined) r.cacheWrite1h = Math.min(written, written1h);
    r.cacheWrite = written - (r.cacheWrite1h ?? 0);
  }
  if (uncached !== undefined) r.input = uncached + (r.cacheRead ?? 0) + (r.cacheWrite ?? 0) + (r.cacheWrite1h ?? 0);
  const output = num(u.output_tokens);
  if (output !== undefined) r.output = output;
}

/** Content blocks that are tool calls: the client's tools, server tools (web_search) and MCP connector tools. */
const TOOL_BLOCKS = new Set(['tool_use', 'server_tool_use', 'mcp_tool_use']);

function noteToolBlock(block: unknown, r: UsageReading): void {
  if (block === null || typeof block !== 'object') return;
  const b = block as { type?: unknown; name?: unknown };
  if (typeof b.type === 'string' && TOOL_BLOCKS.has(b.type)) noteToolCall(r, b.name);
}

class AnthropicStreamTap implements StreamTap {
  readonly reading = newReading();
  readonly response: ResponseNames = {};
  private finalOutput = false;

  event(data: string): string | null {
    let event: { type?: string; message?: { id?: unknown; model?: unknown; usage?: AnthropicUsage }; usage?: AnthropicUsage; delta?: { text?: unknown; partial_json?: unknown; thinking?: unknown }; content_block?: unknown };
    try {
      event = JSON.parse(data) as typeof event;
    } catch {
      return data;
    }
    if (event.type === 'message_start') {
      readResponseNames(event.message?.id, event.message?.model, this.response);
      readUsage(event.message?.usage, this.reading);
      // message_start reports the output so far (1 or so), not the total: wait for message_delta.
      this.reading.output = undefined;
    } else if (event.type === 'content_block_start') {
      noteToolBlock(event.content_block, this.reading);
    } else if (event.type === 'content_block_delta') {
      const d = event.delta;
      for (const v of [d?.text, d?.partial_json, d?.thinking]) if (typeof v === 'string') this.reading.outputText += v;
    } else if (event.type === 'message_delta' && event.usage) {
      const input = this.reading.input;
      readUsage(event.usage, this.reading);
      if (event.usage.input_tokens === undefined && input !== undefined) this.reading.input = input;
      this.finalOutput = true;
    }
    if (!this.finalOutput) this.reading.output = undefined;
    return data;
  }
}

export const anthropicAdapter: ProviderAdapter = {
  style: 'anthropic',
  title: 'Anthropic',
  routes: anthropicRoutes,
  defaultRoute: '/v1/messages',
  genAi: { provider: 'anthropic', generateOperation: () => 'chat' },
  // The SDKs send x-api-key; Claude Code with an auth token sends `Authorization: Bearer`.
  clientKeys: [{ header: 'authorization', scheme: 'Bearer' }, { header: 'x-api-key' }],
  officialHosts: ['api.anthropic.com'],
  keyRules: ['anthropic-api-key'],
  modelPrefixes: ['claude'],
  // `messages.create` is a common name: it is taken for Anthropic's only with a model argument.
  sdkCalls: [{ chain: ['messages'], methods: ['create', 'stream'], streamMethods: ['stream'], api: 'messages', route: '/v1/messages', needsModel: true }],
  clientHeaders: ['anthropic-version', 'anthropic-beta'],
  rewriteFields: ['model', 'max_tokens', 'metadata'],
  toolFields: anthropicToolFields,

  describe(provider: string, route: string, method: string, body: unknown): ModelCall {
    return describeAnthropicCall(provider, route, method, body);
  },

  rewrite(body: Record<string, unknown>, call: ModelCall, changes: RequestChanges): { body: Record<string, unknown>; strippedUsage: boolean } {
    const out: Record<string, unknown> = { ...body };
    if (changes.model && call.model !== changes.model) out.model = changes.model;
    if (changes.outputCap !== undefined && typeof out.max_tokens === 'number') out.max_tokens = Math.min(out.max_tokens, changes.outputCap);
    if (changes.pseudonym && call.kind === 'generate') {
      out.metadata = { ...((out.metadata as Record<string, unknown> | undefined) ?? {}), user_id: changes.pseudonym };
    }
    if (changes.stripTools?.length) stripAnthropicTools(out, new Set(changes.stripTools));
    return { body: out, strippedUsage: false };
  },

  authHeaders(key: string): Record<string, string> {
    return { 'x-api-key': key };
  },

  errorBody(kind: ErrorKind, message: string, details?: ErrorDetails): unknown {
    // A context overflow is worded as Anthropic words a prompt over the model's window ("prompt is
    // too long"), the text Claude Code and frameworks match to compact the conversation.
    const max = details?.maxInputTokens;
    const n = details?.inputTokens;
    if (kind === 'context' && max !== undefined && n !== undefined) message = `prompt is too long: ${n} tokens > ${max} maximum. ${message}`;
    return { type: 'error', error: { type: errorTypes[kind], message } };
  },

  usageFromBody(json: unknown): UsageReading {
    const r = newReading();
    if (json && typeof json === 'object') {
      readUsage((json as { usage?: AnthropicUsage }).usage, r);
      const content = (json as { content?: unknown }).content;
      if (Array.isArray(content)) for (const block of content) noteToolBlock(block, r);
    }
    return r;
  },

  responseFromBody(json: unknown): ResponseNames {
    const names: ResponseNames = {};
    if (json && typeof json === 'object') readResponseNames((json as { id?: unknown }).id, (json as { model?: unknown }).model, names);
    return names;
  },

  streamTap(): StreamTap {
    return new AnthropicStreamTap();
  },

  countOutput: countAnthropicText,

  /** System turns are the `system` field; Anthropic requires an output maximum, so one is always given. */
  requestFor(_route: string, r: PlainRequest): Record<string, unknown> {
    const system = r.messages.filter((m) => m.role === 'system').map((m) => m.content);
    const turns = r.messages.filter((m) => m.role !== 'system');
    return {
      model: r.model, max_tokens: r.maxTokens ?? r.reserveOutputTokens, ...(system.length ? { system: system.join('\n') } : {}),
      messages: turns.length ? turns : [{ role: 'user', content: '' }], ...(r.stream ? { stream: true } : {}),
    };
  },

  /** Anthropic's SDKs and Claude Code add `/v1` themselves. */
  sdkEnvironment(providerUrl: string, sessionToken: string): SdkEnvironment {
    return { baseUrl: { name: 'ANTHROPIC_BASE_URL', value: providerUrl }, apiKey: { name: 'ANTHROPIC_API_KEY', value: sessionToken } };
  },
};
