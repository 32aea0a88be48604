import type { ModelCall } from '../../contracts/call';
import { MalformedRequestError } from '../../contracts/call';
import { countText } from '../../engine/tokens/count';
import { imageSizeFromDataUrl } from '../../engine/tokens/image-size';
import { openaiImageTokens } from './images';
import { RouteTable } from '../routes';
import { chatTools, responsesTools } from './tools';
import type { ChatCompletionRequest, ChatContentPart, CompletionsRequest, EmbeddingsRequest, ResponsesRequest } from './wire';

// Reads an OpenAI-style request into the engine's ModelCall and rewrites what the policy changes.

/** Tokens the chat format adds per message and to prime the reply, as OpenAI's cookbook counts them. */
const perMessage = 3;
const replyPriming = 3;
/** Audio and files have no offline count; their base64 size bounds the tokens from above. */
const opaqueDivisor = 3;

/** Every route the openai style serves; any other path is refused (404), never passed through uncapped. */
export const openaiRoutes = new RouteTable([
  { pattern: '/v1/chat/completions', methods: ['POST'], kind: 'generate' },
  { pattern: '/v1/responses', methods: ['POST'], kind: 'generate' },
  { pattern: '/v1/embeddings', methods: ['POST'], kind: 'embed' },
  { pattern: '/v1/completions', methods: ['POST'], kind: 'generate' },
  { pattern: '/v1/models', methods: ['GET'], kind: 'passthrough' },
  { pattern: '/v1/models/{id}', methods: ['GET'], kind: 'passthrough' },
  { pattern: '/', methods: ['GET'], kind: 'passthrough' },
]);

function asObject(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new MalformedRequestError('the request body must be a JSON object');
  return body as Record<string, unknown>;
}

function requireModel(b: { model?: unknown }): string {
  if (typeof b.model !== 'string' || b.model === '') throw new MalformedRequestError('"model" is required and must be a string');
  return b.model;
}

function optionalCount(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new MalformedRequestError(`"${name}" must be a non-negative integer`);
  return v;
}

/** Every field an OpenAI-compatible server may read as the output maximum. */
export const openaiOutputFields = ['max_completion_tokens', 'max_tokens', 'max_output_tokens'] as const;

/**
 * The output maximum a request asks for: the largest of every output field it carries, whichever
 * the route documents, since a compatible server may honour any of them. Each is clamped on the
 * way out, so none can ask for more than is held.
 */
function requestedOutput(b: Partial<Record<(typeof openaiOutputFields)[number], unknown>>): number | undefined {
  let max: number | undefined;
  for (const f of openaiOutputFields) {
    const v = optionalCount(b[f], f);
    if (v !== undefined) max = Math.max(max ?? 0, v);
  }
  return max;
}

function countParts(model: string, parts: ChatContentPart[], texts: string[]): number {
  let tokens = 0;
  for (const part of parts) {
    if (part === null || typeof part !== 'object') throw new MalformedRequestError('every content part must be an object');
    if (typeof part.text === 'string') {
      texts.push(part.text);
      tokens += countText(part.text);
    } else if (part.type === 'image_url' || part.type === 'input_image') {
      const image = typeof part.image_url === 'string' ? { url: part.image_url } : part.image_url;
      const url = image?.url ?? '';
      tokens += openaiImageTokens(model, url.startsWith('data:') ? imageSizeFromDataUrl(url) : undefined, image?.detail ?? (part as { detail?: string }).detail);
    } else {
      tokens += Math.ceil(JSON.stringify(part).length / opaqueDivisor);
    }
  }
  return tokens;
}

function countStructured(value: unknown, texts: string[]): number {
  if (value === undefined || value === null) return 0;
  const json = typeof value === 'string' ? value : JSON.stringify(value);
  texts.push(json);
  return countText(json);
}

/**
 * Tool and function definitions: counted, but not handed to classification. Their descriptions
 * and schemas are the client's code, the same on every call of an agent, not the data it sends
 * (the messages, tool calls and tool results, instructions and system messages are, and are read).
 */
function countDefinitions(value: unknown): number {
  if (value === undefined || value === null) return 0;
  return countText(typeof value === 'string' ? value : JSON.stringify(value));
}

function describeChat(provider: string, route: string, b: ChatCompletionRequest): ModelCall {
  const model = requireModel(b);
  if (!Array.isArray(b.messages) || b.messages.length === 0) throw new MalformedRequestError('"messages" must be a non-empty array');
  const texts: string[] = [];
  let tokens = replyPriming;
  for (const m of b.messages) {
    if (m === null || typeof m !== 'object') throw new MalformedRequestError('every message must be an object');
    tokens += perMessage;
    if (typeof m.name === 'string') tokens += countText(m.name) + 1;
    if (typeof m.content === 'string') {
      texts.push(m.content);
      tokens += countText(m.content);
    } else if (Array.isArray(m.content)) tokens += countParts(model, m.content, texts);
    tokens += countStructured(m.tool_calls, texts) + countStructured(m.function_call, texts);
  }
  tokens += countDefinitions(b.tools) + countDefinitions(b.functions);
  const tools = chatTools(b);
  return {
    provider, style: 'openai', route, kind: 'generate', model, stream: b.stream === true, inputTokens: tokens, requestedOutputTokens: requestedOutput(b), choices: Math.max(1, optionalCount(b.n, 'n') ?? 1), texts,
    ...(tools ? { tools } : {}),
  };
}

function describeResponses(provider: string, route: string, b: ResponsesRequest): ModelCall {
  const model = requireModel(b);
  const texts: string[] = [];
  let tokens = replyPriming;
  if (typeof b.instructions === 'string') {
    texts.push(b.instructions);
    tokens += perMessage + countText(b.instructions);
  }
  if (typeof b.input === 'string') {
    texts.push(b.input);
    tokens += perMessage + countText(b.input);
  } else if (Array.isArray(b.input)) {
    for (const item of b.input) {
      if (item === null || typeof item !== 'object') throw new MalformedRequestError('every input item must be an object');
      tokens += perMessage;
      if (typeof item.content === 'string') {
        texts.push(item.content);
        tokens += countText(item.content);
      } else if (Array.isArray(item.content)) {
        tokens += countParts(model, item.content as ChatContentPart[], texts);
      } else {
        tokens += countStructured(item.output ?? item.arguments, texts);
      }
    }
  } else if (b.input !== undefined) {
    throw new MalformedRequestError('"input" must be a string or an array');
  }
  tokens += countDefinitions(b.tools);
  const tools = responsesTools(b);
  return { provider, style: 'openai', route, kind: 'generate', model, stream: b.stream === true, inputTokens: tokens, requestedOutputTokens: requestedOutput(b), choices: 1, texts, ...(tools ? { tools } : {}) };
}

function countPromptLike(value: unknown, name: string, texts: string[]): number {
  if (typeof value === 'string') {
    texts.push(value);
    return countText(value);
  }
  if (Array.isArray(value)) {
    let tokens = 0;
    for (const v of value) {
      if (typeof v === 'string') {
        texts.push(v);
        tokens += countText(v);
      } else if (typeof v === 'number') tokens += 1;
      else if (Array.isArray(v)) tokens += v.length;
      else throw new MalformedRequestError(`"${name}" must be a string, an array of strings or of token arrays`);
    }
    return tokens;
  }
  throw new MalformedRequestError(`"${name}" is required and must be a string or an array`);
}

function describeEmbeddings(provider: string, route: string, b: EmbeddingsRequest): ModelCall {
  const model = requireModel(b);
  const texts: string[] = [];
  const tokens = countPromptLike(b.input, 'input', texts);
  return { provider, style: 'openai', route, kind: 'embed', model, stream: false, inputTokens: tokens, requestedOutputTokens: 0, choices: 1, texts };
}

function describeCompletions(provider: string, route: string, b: CompletionsRequest): ModelCall {
  const model = requireModel(b);
  const texts: string[] = [];
  const tokens = countPromptLike(b.prompt, 'prompt', texts);
  // The legacy completions endpoint generates 16 tokens when max_tokens is absent.
  const requested = requestedOutput(b) ?? 16;
  // best_of generates that many completions upstream (all billed) and returns the best n.
  const choices = Math.max(1, optionalCount(b.n, 'n') ?? 1, optionalCount(b.best_of, 'best_of') ?? 1);
  return { provider, style: 'openai', route, kind: 'generate', model, stream: b.stream === true, inputTokens: tokens, requestedOutputTokens: requested, choices, texts };
}

/** Describes a call to one of the openai style's routes (the proxy refuses every other path first). */
export function describeOpenAICall(provider: string, route: string, method: string, body: unknown): ModelCall {
  const match = openaiRoutes.match(method, route);
  if (!match.ok) throw new MalformedRequestError(`${method} ${route} is not a call the openai style serves`);
  if (match.spec.kind === 'passthrough') {
    return { provider, style: 'openai', route, kind: 'passthrough', stream: false, inputTokens: 0, choices: 1, texts: [] };
  }
  const b = asObject(body);
  switch (route) {
    case '/v1/chat/completions':
      return describeChat(provider, route, b as ChatCompletionRequest);
    case '/v1/responses':
      return describeResponses(provider, route, b as ResponsesRequest);
    case '/v1/embeddings':
      return describeEmbeddings(provider, route, b as EmbeddingsRequest);
    default:
      return describeCompletions(provider, route, b as CompletionsRequest);
  }
}

/** Where a route keeps its output maximum. */
export function openaiOutputField(route: string): 'max_completion_tokens' | 'max_output_tokens' | 'max_tokens' | undefined {
  if (route === '/v1/chat/completions') return 'max_completion_tokens';
  if (route === '/v1/responses') return 'max_output_tokens';
  if (route === '/v1/completions') return 'max_tokens';
  return undefined;
}
