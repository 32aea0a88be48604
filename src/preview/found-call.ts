import type { StyleName } from '../contracts/call';
import type { PreviewApi, SdkCall } from '../providers/adapter';
import { registeredAdapters } from '../providers/registry';

// A model call found in source code, as both language finders report it: offsets into the text,
// what is static (literal) and what is not, and the constructs that repeat it. Which SDK calls
// and provider paths are model calls is each provider style's own table (SdkCall).

export type ApiKind = PreviewApi;

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
  readonly provider: StyleName;
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

/** Every registered style's SDK calls, longest accessor chain first (`chat.completions` before `completions`). */
function sdkCalls(): (SdkCall & { readonly provider: StyleName })[] {
  return registeredAdapters()
    .flatMap((a) => a.sdkCalls.map((c) => ({ ...c, provider: a.style })))
    .sort((x, y) => y.chain.length - x.chain.length);
}

/** Provider paths a plain HTTP call may target, with what they mean. */
export function providerPaths(): { readonly path: string; readonly api: ApiKind; readonly provider: StyleName }[] {
  const seen = new Set<string>();
  return sdkCalls().filter((c) => !seen.has(c.route) && seen.add(c.route)).map((c) => ({ path: c.route, api: c.api, provider: c.provider }));
}

/** The route a call of `api` goes to: the provider style's own where it makes such calls (Gemini's chat is generateContent). */
export function routeOf(api: ApiKind, provider?: StyleName): string {
  const call = sdkCalls().find((c) => c.api === api && c.provider === provider) ?? sdkCalls().find((c) => c.api === api);
  if (!call) throw new Error(`no registered provider style makes '${api}' calls`);
  return call.route;
}

/**
 * The SDK method an accessor chain ends with (`client.chat.completions.create`), or undefined.
 * `needsModel`: taken for a model call only when a `model` argument is in sight.
 */
export function sdkApiOf(names: readonly string[]): { api: ApiKind; stream: boolean; provider: StyleName; needsModel: boolean } | undefined {
  const n = names.length;
  const method = names[n - 1];
  if (!method) return undefined;
  for (const c of sdkCalls()) {
    if (n < c.chain.length + 1 || !c.methods.includes(method)) continue;
    if (!c.chain.every((name, i) => names[n - 1 - c.chain.length + i] === name)) continue;
    return { api: c.api, stream: c.streamMethods.includes(method), provider: c.provider, needsModel: c.needsModel === true };
  }
  return undefined;
}

/** The provider API a URL's text names, by its path. */
export function pathApiOf(url: string): ReturnType<typeof providerPaths>[number] | undefined {
  return providerPaths().find((p) => {
    const at = url.indexOf(p.path);
    // `/v1/messages/count_tokens` is not a model call; a query string or the end of the text is fine.
    return at >= 0 && !/^[/\w]/.test(url.slice(at + p.path.length));
  });
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A cheap test that a text may hold a model call at all, so most files are never parsed. */
export function mayContainModelCalls(text: string): boolean {
  const words = new Set(sdkCalls().flatMap((c) => [c.chain[c.chain.length - 1]!, c.route]));
  return new RegExp([...words].map(escape).join('|')).test(text);
}
