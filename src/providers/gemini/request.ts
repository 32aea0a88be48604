import type { ModelCall } from '../../contracts/call';
import { MalformedRequestError } from '../../contracts/call';
import { imageSizeFromBase64 } from '../../engine/tokens/image-size';
import { nameBeforeMethod, RouteTable } from '../routes';
import { countGeminiText } from './count';
import { geminiImageTokens, UNKNOWN_IMAGE_TOKENS } from './images';
import { geminiTools } from './tools';
import type { Content, CountTokensRequest, GenerateContentRequest, Part } from './wire';

// Reads a Gemini API request into the engine's ModelCall. Google names the model in the path
// (`/v1beta/models/gemini-2.5-flash:generateContent`), not in the body.

/** Every route the gemini style serves; any other path is refused (404), never passed through uncapped. */
export const geminiRoutes = new RouteTable([
  { pattern: '/v1beta/models/{model}:generateContent', methods: ['POST'], kind: 'generate' },
  // Streams as server-sent events with `?alt=sse`; without it Google streams one JSON array.
  { pattern: '/v1beta/models/{model}:streamGenerateContent', methods: ['POST'], kind: 'generate' },
  { pattern: '/v1beta/models/{model}:countTokens', methods: ['POST'], kind: 'count' },
  { pattern: '/v1beta/models', methods: ['GET'], kind: 'passthrough' },
  { pattern: '/v1beta/models/{model}', methods: ['GET'], kind: 'passthrough' },
]);

export const STREAM_METHOD = 'streamGenerateContent';

/** Role markers and turn framing per content, counted generously. */
const perContent = 6;
const systemFraming = 6;
/** Tool declarations add framing of their own upstream. */
const toolFraming = 100;
/** Audio, video and PDFs are billed by length, pages or frames; bounded generously by their base64 size. */
const mediaDivisor = 16;

/** The model a route names: the path's last segment, before its method. */
export function modelOfRoute(route: string): string {
  return nameBeforeMethod(route.slice(route.lastIndexOf('/') + 1));
}

function countParts(parts: unknown, texts: string[]): number {
  if (!Array.isArray(parts)) throw new MalformedRequestError('"parts" must be an array');
  let tokens = 0;
  for (const part of parts as Part[]) {
    if (part === null || typeof part !== 'object') throw new MalformedRequestError('every part must be an object');
    if (typeof part.text === 'string') {
      texts.push(part.text);
      tokens += countGeminiText(part.text);
    } else if (part.inlineData) {
      const data = typeof part.inlineData.data === 'string' ? part.inlineData.data : '';
      const mime = part.inlineData.mimeType ?? '';
      tokens += mime.startsWith('image/') ? geminiImageTokens(data ? imageSizeFromBase64(data) : undefined) : Math.max(UNKNOWN_IMAGE_TOKENS, Math.ceil(data.length / mediaDivisor));
    } else if (part.fileData) {
      tokens += UNKNOWN_IMAGE_TOKENS;
    } else {
      const json = JSON.stringify(part.functionCall ?? part.functionResponse ?? part);
      texts.push(json);
      tokens += countGeminiText(json);
    }
  }
  return tokens;
}

function countContent(c: Content, texts: string[]): number {
  if (c === null || typeof c !== 'object') throw new MalformedRequestError('every content must be an object');
  return perContent + countParts(c.parts ?? [], texts);
}

/** The prompt's tokens: contents, the system instruction and the tools' declarations. */
function countRequest(b: GenerateContentRequest, texts: string[]): number {
  let tokens = 0;
  if (!Array.isArray(b.contents)) throw new MalformedRequestError('"contents" must be an array');
  for (const c of b.contents) tokens += countContent(c, texts);
  if (typeof b.systemInstruction === 'string') {
    texts.push(b.systemInstruction);
    tokens += systemFraming + countGeminiText(b.systemInstruction);
  } else if (b.systemInstruction !== undefined) tokens += systemFraming + countContent(b.systemInstruction, texts);
  if (b.tools !== undefined) {
    const json = JSON.stringify(b.tools);
    texts.push(json);
    tokens += countGeminiText(json) + toolFraming;
  }
  return tokens;
}

function positiveInteger(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new MalformedRequestError(`"${field}" must be a positive integer`);
  return v;
}

/** Describes a call to one of the gemini style's routes (the proxy refuses every other path first). */
export function describeGeminiCall(provider: string, route: string, method: string, body: unknown): ModelCall {
  const match = geminiRoutes.match(method, route);
  if (!match.ok) throw new MalformedRequestError(`${method} ${route} is not a call the gemini style serves`);
  if (match.spec.kind === 'passthrough') {
    return { provider, style: 'gemini', route, kind: 'passthrough', stream: false, inputTokens: 0, choices: 1, texts: [] };
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new MalformedRequestError('the request body must be a JSON object');
  const model = modelOfRoute(route);
  const texts: string[] = [];
  if (match.spec.kind === 'count') {
    // Counting is free upstream: nothing is held for it, its text is still classified.
    const b = body as CountTokensRequest;
    countRequest(b.generateContentRequest ?? { contents: b.contents ?? [] }, texts);
    return { provider, style: 'gemini', route, kind: 'count', model, stream: false, inputTokens: 0, requestedOutputTokens: 0, choices: 1, texts };
  }
  const b = body as GenerateContentRequest;
  if (!Array.isArray(b.contents) || b.contents.length === 0) throw new MalformedRequestError('"contents" must be a non-empty array');
  const inputTokens = countRequest(b, texts);
  const config = b.generationConfig ?? {};
  if (typeof config !== 'object') throw new MalformedRequestError('"generationConfig" must be an object');
  const tools = geminiTools(b);
  return {
    provider, style: 'gemini', route, kind: 'generate', model,
    stream: route.endsWith(`:${STREAM_METHOD}`),
    inputTokens,
    requestedOutputTokens: positiveInteger(config.maxOutputTokens, 'generationConfig.maxOutputTokens'),
    choices: positiveInteger(config.candidateCount, 'generationConfig.candidateCount') ?? 1,
    texts,
    ...(tools ? { tools } : {}),
  };
}
