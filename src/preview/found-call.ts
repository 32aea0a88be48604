// A model call found in source code, as both language finders report it: offsets into the text,
// what is static (literal) and what is not, and the constructs that repeat it.

export type ApiKind = 'chat' | 'responses' | 'embeddings' | 'messages' | 'completions';

export type FanOutKind = 'loop' | 'map' | 'promise-all' | 'gather' | 'comprehension' | 'recursion';

/** Half-open character offsets [start, end) into the document text. */
export interface SourceRange {
  readonly start: number;
  readonly end: number;
}

export interface PromptPart {
  /** system, user, assistant, ... or `input` for embeddings and plain prompts. */
  readonly role: string;
  /** The literal text; dynamic pieces inside it are left out and counted in `dynamicParts`. */
  readonly text: string;
}

export interface FanOut {
  readonly kind: FanOutKind;
  /** The construct: the loop, the map/gather call, or the recursive function's name. */
  readonly range: SourceRange;
  readonly label: string;
}

export interface FoundCall {
  readonly api: ApiKind;
  readonly provider: 'openai' | 'anthropic';
  readonly route: string;
  readonly via: 'sdk' | 'http';
  readonly stream: boolean;
  /** The whole call expression. */
  readonly range: SourceRange;
  /** The model when literal (or a constant with a literal value); its literal's range, for the quick fix. */
  readonly model?: string;
  readonly modelRange?: SourceRange;
  readonly prompt: readonly PromptPart[];
  /** Pieces of the prompt whose text is not known statically (variables, calls, interpolations). */
  readonly dynamicParts: number;
  readonly maxTokens?: number;
  readonly fanOut: readonly FanOut[];
}

/** Provider paths a plain HTTP call may target, with what they mean. */
export const PROVIDER_PATHS: readonly { readonly path: string; readonly api: ApiKind; readonly provider: 'openai' | 'anthropic' }[] = [
  { path: '/v1/chat/completions', api: 'chat', provider: 'openai' },
  { path: '/v1/responses', api: 'responses', provider: 'openai' },
  { path: '/v1/embeddings', api: 'embeddings', provider: 'openai' },
  { path: '/v1/completions', api: 'completions', provider: 'openai' },
  { path: '/v1/messages', api: 'messages', provider: 'anthropic' },
];

export function routeOf(api: ApiKind): string {
  switch (api) {
    case 'chat':
      return '/v1/chat/completions';
    case 'responses':
      return '/v1/responses';
    case 'embeddings':
      return '/v1/embeddings';
    case 'completions':
      return '/v1/completions';
    case 'messages':
      return '/v1/messages';
  }
}

/** The SDK method an accessor chain ends with (`client.chat.completions.create`), or undefined. */
export function sdkApiOf(names: readonly string[]): { api: ApiKind; stream: boolean } | undefined {
  const n = names.length;
  const last = names[n - 1];
  const prev = names[n - 2];
  if (!last || !prev) return undefined;
  const streaming = last === 'stream';
  const create = last === 'create' || last === 'parse' || streaming;
  if (!create) return undefined;
  if (prev === 'completions') return { api: names[n - 3] === 'chat' ? 'chat' : 'completions', stream: streaming };
  if (prev === 'responses') return { api: 'responses', stream: streaming };
  if (prev === 'embeddings' && last === 'create') return { api: 'embeddings', stream: false };
  if (prev === 'messages' && last !== 'parse') return { api: 'messages', stream: streaming };
  return undefined;
}

/** The provider API a URL's text names, by its path. */
export function pathApiOf(url: string): (typeof PROVIDER_PATHS)[number] | undefined {
  return PROVIDER_PATHS.find((p) => {
    const at = url.indexOf(p.path);
    // `/v1/messages/count_tokens` is not a model call; a query string or the end of the text is fine.
    return at >= 0 && !/^[/\w]/.test(url.slice(at + p.path.length));
  });
}

/** A cheap test that a text may hold a model call at all, so most files are never parsed. */
export function mayContainModelCalls(text: string): boolean {
  return /completions|responses|embeddings|messages|\/v1\//.test(text);
}
