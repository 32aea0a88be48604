import type { ModelCall } from '../../contracts/call';
import type { ErrorDetails, ErrorKind } from '../../contracts/refusal';
import type { PlainRequest, ProviderAdapter, RequestChanges, SdkCall, SdkEnvironment, StreamTap } from '../adapter';
import { fillRoute } from '../routes';
import type { ResponseNames, UsageReading } from '../usage';
import { newReading, noteToolCall, num, readResponseNames } from '../usage';
import { countGeminiText } from './count';
import { describeGeminiCall, geminiRoutes, modelOfRoute, STREAM_METHOD } from './request';
import { geminiToolFields, stripGeminiTools } from './tools';
import type { GeminiUsage, GenerateContentResponse } from './wire';

/** Google's error statuses (google.rpc.Code names) and the HTTP code each goes with. */
const errorStatuses: Record<ErrorKind, { code: number; status: string }> = {
  'rate-limit': { code: 429, status: 'RESOURCE_EXHAUSTED' },
  trace: { code: 429, status: 'RESOURCE_EXHAUSTED' },
  budget: { code: 429, status: 'RESOURCE_EXHAUSTED' },
  entitlement: { code: 403, status: 'PERMISSION_DENIED' },
  forbidden: { code: 403, status: 'PERMISSION_DENIED' },
  context: { code: 400, status: 'INVALID_ARGUMENT' },
  identity: { code: 401, status: 'UNAUTHENTICATED' },
  'bad-request': { code: 400, status: 'INVALID_ARGUMENT' },
  'too-large': { code: 413, status: 'INVALID_ARGUMENT' },
  'not-found': { code: 404, status: 'NOT_FOUND' },
  upstream: { code: 502, status: 'INTERNAL' },
  timeout: { code: 504, status: 'DEADLINE_EXCEEDED' },
  unavailable: { code: 503, status: 'UNAVAILABLE' },
};

/**
 * Google answers a prompt longer than the model's window with this sentence; agents and
 * frameworks look for it to trim their history. What follows it says it is the team's cap.
 */
function contextMessage(message: string, details: ErrorDetails | undefined): string {
  const n = details?.inputTokens;
  const max = details?.maxInputTokens;
  if (n === undefined || max === undefined) return message;
  return `The input token count (${n}) exceeds the maximum number of tokens allowed (${max}). ${message}`;
}

/**
 * Usage as Google reports it: the prompt count is all input, cached included; tool-use prompt
 * tokens are input billed beside it; thoughts are output billed beside the candidates.
 */
function readUsage(u: GeminiUsage | undefined, r: UsageReading): void {
  if (!u || typeof u !== 'object') return;
  const prompt = num(u.promptTokenCount);
  if (prompt !== undefined) r.input = prompt + (num(u.toolUsePromptTokenCount) ?? 0);
  const cached = num(u.cachedContentTokenCount);
  if (cached !== undefined) r.cacheRead = cached;
  const candidates = num(u.candidatesTokenCount);
  const thoughts = num(u.thoughtsTokenCount);
  if (candidates !== undefined || thoughts !== undefined) r.output = (candidates ?? 0) + (thoughts ?? 0);
  if (thoughts !== undefined) r.reasoning = thoughts;
}

function collectText(response: GenerateContentResponse, r: UsageReading): void {
  if (!Array.isArray(response.candidates)) return;
  for (const c of response.candidates) {
    for (const part of c?.content?.parts ?? []) {
      if (typeof part?.text === 'string') r.outputText += part.text;
      else if (part?.functionCall !== undefined) r.outputText += JSON.stringify(part.functionCall);
    }
  }
}

/** Each `functionCall` part is one call: Google sends a call whole, in one chunk. */
function readToolCalls(response: GenerateContentResponse, r: UsageReading): void {
  if (!Array.isArray(response.candidates)) return;
  for (const c of response.candidates) {
    const parts = c?.content?.parts;
    if (!Array.isArray(parts)) continue;
    for (const part of parts) if (part?.functionCall && typeof part.functionCall === 'object') noteToolCall(r, (part.functionCall as { name?: unknown }).name);
  }
}

function finished(response: GenerateContentResponse): boolean {
  return Array.isArray(response.candidates) && response.candidates.some((c) => typeof c?.finishReason === 'string');
}

/**
 * Every chunk of Google's stream carries the usage so far; the output is only the call's once a
 * candidate has finished, so until then a cut stream is charged what its text counts.
 */
class GeminiStreamTap implements StreamTap {
  readonly reading = newReading();
  readonly response: ResponseNames = {};
  private ended = false;

  event(data: string): string | null {
    let chunk: GenerateContentResponse;
    try {
      chunk = JSON.parse(data) as GenerateContentResponse;
    } catch {
      return data;
    }
    if (chunk === null || typeof chunk !== 'object') return data;
    collectText(chunk, this.reading);
    readToolCalls(chunk, this.reading);
    readResponseNames(chunk.responseId, chunk.modelVersion, this.response);
    readUsage(chunk.usageMetadata, this.reading);
    if (finished(chunk)) this.ended = true;
    if (!this.ended) this.reading.output = undefined;
    return data;
  }
}

const GENERATE = '/v1beta/models/{model}:generateContent';

/** `@google/genai` (JavaScript and Python): `ai.models.generateContent({ model, contents })`. */
const sdkCalls: readonly SdkCall[] = [
  { chain: ['models'], methods: ['generateContent', 'generateContentStream', 'generate_content', 'generate_content_stream'], streamMethods: ['generateContentStream', 'generate_content_stream'], api: 'chat', route: GENERATE, needsModel: true },
];

export const geminiAdapter: ProviderAdapter = {
  style: 'gemini',
  title: 'Google Gemini',
  routes: geminiRoutes,
  defaultRoute: GENERATE,
  genAi: { provider: 'gcp.gemini', generateOperation: () => 'generate_content' },
  // The SDKs and Gemini CLI send x-goog-api-key; REST examples put the key in `?key=`.
  clientKeys: [{ header: 'x-goog-api-key' }, { query: 'key' }],
  officialHosts: ['generativelanguage.googleapis.com'],
  keyRules: ['google-api-key'],
  modelPrefixes: ['gemini'],
  sdkCalls,
  clientHeaders: [],
  // The model is in the path (see upstreamPath); the body carries only the output cap.
  rewriteFields: ['generationConfig'],
  toolFields: geminiToolFields,

  describe(provider: string, route: string, method: string, body: unknown): ModelCall {
    return describeGeminiCall(provider, route, method, body);
  },

  rewrite(body: Record<string, unknown>, call: ModelCall, changes: RequestChanges): { body: Record<string, unknown>; strippedUsage: boolean } {
    const out: Record<string, unknown> = { ...body };
    if (changes.outputCap !== undefined && call.kind === 'generate') {
      const config = { ...((out.generationConfig as Record<string, unknown> | undefined) ?? {}) };
      const asked = config.maxOutputTokens;
      config.maxOutputTokens = typeof asked === 'number' ? Math.min(asked, changes.outputCap) : changes.outputCap;
      out.generationConfig = config;
    }
    if (changes.stripTools?.length) stripGeminiTools(out, new Set(changes.stripTools));
    // Google's API has no end-user field: the pseudonym is not sent.
    return { body: out, strippedUsage: false };
  },

  /** A downgrade names the served model in the path, where Google reads it. */
  upstreamPath(route: string, call: ModelCall, changes: RequestChanges): string {
    if (!changes.model || call.model === changes.model || call.kind === 'passthrough') return route;
    const segment = route.slice(route.lastIndexOf('/') + 1);
    return `${route.slice(0, route.lastIndexOf('/') + 1)}${changes.model}${segment.slice(modelOfRoute(route).length)}`;
  },

  authHeaders(key: string): Record<string, string> {
    return { 'x-goog-api-key': key };
  },

  errorBody(kind: ErrorKind, message: string, details?: ErrorDetails): unknown {
    const e = errorStatuses[kind];
    return { error: { code: e.code, message: kind === 'context' ? contextMessage(message, details) : message, status: e.status } };
  },

  /** A whole reply, or the JSON array Google streams without `alt=sse`: its last usage is the call's. */
  usageFromBody(json: unknown): UsageReading {
    const r = newReading();
    const replies = Array.isArray(json) ? (json as unknown[]) : [json];
    for (const reply of replies) {
      if (!reply || typeof reply !== 'object') continue;
      readUsage((reply as GenerateContentResponse).usageMetadata, r);
      readToolCalls(reply as GenerateContentResponse, r);
    }
    return r;
  },

  /** Google names a reply by `responseId` and the model that served it by `modelVersion`. */
  responseFromBody(json: unknown): ResponseNames {
    const names: ResponseNames = {};
    const replies = Array.isArray(json) ? (json as unknown[]) : [json];
    for (const reply of replies) if (reply && typeof reply === 'object') readResponseNames((reply as GenerateContentResponse).responseId, (reply as GenerateContentResponse).modelVersion, names);
    return names;
  },

  streamTap(): StreamTap {
    return new GeminiStreamTap();
  },

  countOutput: countGeminiText,

  /** System turns are the system instruction; the assistant is the `model` role. */
  requestFor(_route: string, r: PlainRequest): Record<string, unknown> {
    const system = r.messages.filter((m) => m.role === 'system').map((m) => m.content);
    const turns = r.messages.filter((m) => m.role !== 'system').map((m) => ({ role: m.role === 'assistant' ? 'model' : 'user', parts: [{ text: m.content }] }));
    return {
      contents: turns.length ? turns : [{ role: 'user', parts: [{ text: '' }] }],
      ...(system.length ? { systemInstruction: { parts: [{ text: system.join('\n') }] } } : {}),
      ...(r.maxTokens !== undefined ? { generationConfig: { maxOutputTokens: r.maxTokens } } : {}),
    };
  },

  /** The route a plain request goes to: the model in the path, and the streaming method for a stream. */
  routeFor(route: string, r: PlainRequest): string {
    const filled = fillRoute(route, r.model);
    return r.stream ? filled.replace(/:generateContent$/, `:${STREAM_METHOD}`) : filled;
  },

  /**
   * `@google/genai` and Gemini CLI read GOOGLE_GEMINI_BASE_URL and add `/v1beta` themselves. The
   * SDK takes GOOGLE_API_KEY before GEMINI_API_KEY, so both hold the token.
   */
  sdkEnvironment(providerUrl: string, sessionToken: string): SdkEnvironment {
    return { baseUrl: { name: 'GOOGLE_GEMINI_BASE_URL', value: providerUrl }, apiKey: { name: 'GEMINI_API_KEY', value: sessionToken }, otherKeyNames: ['GOOGLE_API_KEY'] };
  },
};
