import type { ModelCall } from '../../contracts/call';
import { MalformedRequestError } from '../../contracts/call';
import { countAnthropicText } from './count';
import { imageSizeFromBase64 } from '../../engine/tokens/image-size';
import { anthropicImageTokens } from './images';
import { RouteTable } from '../routes';
import { anthropicTools } from './tools';
import type { ContentBlock, MessagesRequest } from './wire';

// Reads an Anthropic Messages request into the engine's ModelCall.

/** Every route the anthropic style serves; any other path is refused (404), never passed through uncapped. */
export const anthropicRoutes = new RouteTable([
  { pattern: '/v1/messages', methods: ['POST'], kind: 'generate' },
  { pattern: '/v1/messages/count_tokens', methods: ['POST'], kind: 'count' },
  { pattern: '/v1/models', methods: ['GET'], kind: 'passthrough' },
  { pattern: '/v1/models/{id}', methods: ['GET'], kind: 'passthrough' },
  // Claude Code probes its base URL (HEAD /) before its first call.
  { pattern: '/', methods: ['GET'], kind: 'passthrough' },
]);

/** Role markers and turn framing per message, counted generously. */
const perMessage = 8;
const systemFraming = 8;
/** A PDF page is billed as text plus an image; without parsing the PDF, bound it by its base64 size. */
const documentDivisor = 3;

function countBlocks(blocks: ContentBlock[], texts: string[]): number {
  let tokens = 0;
  for (const block of blocks) {
    if (block === null || typeof block !== 'object') throw new MalformedRequestError('every content block must be an object');
    if (typeof block.text === 'string') {
      texts.push(block.text);
      tokens += countAnthropicText(block.text);
    } else if (block.type === 'image') {
      const data = block.source?.type === 'base64' ? block.source.data : undefined;
      tokens += anthropicImageTokens(data ? imageSizeFromBase64(data) : undefined);
    } else if (block.type === 'document') {
      const data = block.source?.data ?? '';
      tokens += Math.max(1600, Math.ceil(data.length / documentDivisor));
    } else if (block.type === 'tool_result') {
      if (typeof block.content === 'string') {
        texts.push(block.content);
        tokens += countAnthropicText(block.content);
      } else if (Array.isArray(block.content)) tokens += countBlocks(block.content, texts);
    } else {
      const json = JSON.stringify(block.input ?? block.thinking ?? block);
      texts.push(json);
      tokens += countAnthropicText(json);
    }
  }
  return tokens;
}

/** Describes a call to one of the anthropic style's routes (the proxy refuses every other path first). */
export function describeAnthropicCall(provider: string, route: string, method: string, body: unknown): ModelCall {
  const match = anthropicRoutes.match(method, route);
  if (!match.ok) throw new MalformedRequestError(`${method} ${route} is not a call the anthropic style serves`);
  if (match.spec.kind === 'passthrough') {
    return { provider, style: 'anthropic', route, kind: 'passthrough', stream: false, inputTokens: 0, choices: 1, texts: [] };
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new MalformedRequestError('the request body must be a JSON object');
  const b = body as MessagesRequest;
  if (typeof b.model !== 'string' || b.model === '') throw new MalformedRequestError('"model" is required and must be a string');
  if (!Array.isArray(b.messages) || b.messages.length === 0) throw new MalformedRequestError('"messages" must be a non-empty array');
  // `texts` is what classification reads: what the call sends as data. The system prompt is in it,
  // since a person or a program can put data there as anywhere in a prompt. The tool definitions
  // are not: their names, descriptions and schemas are the client's code, the same on every call
  // of an agent (Claude Code's Bash tool quotes a commit trailer with an e-mail address), and a
  // detector that fires on every call of an agent labels nothing. They are still counted.
  const texts: string[] = [];
  let tokens = 0;
  if (typeof b.system === 'string') {
    texts.push(b.system);
    tokens += systemFraming + countAnthropicText(b.system);
  } else if (Array.isArray(b.system)) {
    tokens += systemFraming + countBlocks(b.system, texts);
  }
  for (const m of b.messages) {
    if (m === null || typeof m !== 'object') throw new MalformedRequestError('every message must be an object');
    tokens += perMessage;
    if (typeof m.content === 'string') {
      texts.push(m.content);
      tokens += countAnthropicText(m.content);
    } else if (Array.isArray(m.content)) tokens += countBlocks(m.content, texts);
    else throw new MalformedRequestError('message "content" must be a string or an array of blocks');
  }
  if (b.tools !== undefined) {
    const json = JSON.stringify(b.tools);
    // Tool use adds a system prompt of a few hundred tokens upstream.
    tokens += countAnthropicText(json) + 350;
  }
  if (route === '/v1/messages/count_tokens') {
    return { provider, style: 'anthropic', route, kind: 'count', model: b.model, stream: false, inputTokens: 0, requestedOutputTokens: 0, choices: 1, texts };
  }
  if (b.max_tokens === undefined || typeof b.max_tokens !== 'number' || !Number.isInteger(b.max_tokens) || b.max_tokens < 1) {
    throw new MalformedRequestError('"max_tokens" is required and must be a positive integer');
  }
  const tools = anthropicTools(b);
  return { provider, style: 'anthropic', route, kind: 'generate', model: b.model, stream: b.stream === true, inputTokens: tokens, requestedOutputTokens: b.max_tokens, choices: 1, texts, ...(tools ? { tools } : {}) };
}
