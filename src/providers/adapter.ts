import type { ModelCall, StyleName } from '../contracts/call';
import type { ErrorDetails, ErrorKind } from '../contracts/refusal';
import type { RouteTable } from './routes';
import type { ResponseNames, UsageReading } from './usage';

/** What the policy changes in a request before it goes upstream. */
export interface RequestChanges {
  /** The model to serve (a downgrade rewrites it). */
  readonly model?: string;
  /** The entitlement's output maximum. */
  readonly outputCap?: number;
  /** The provider's end-user field: a keyed pseudonym, never the address. */
  readonly pseudonym?: string;
  /** Declared tools the identity may not use, removed from the request (`on_undeclared: strip`). */
  readonly stripTools?: readonly string[];
}

/** What a provider's entry in the bundle says about reading its calls. */
export interface DescribeSettings {
  /** Azure OpenAI: deployment name -> the model it serves. */
  readonly deployments?: Readonly<Record<string, string>>;
}

/** Reads a stream's events as they pass and may rewrite them; null drops an event. */
export interface StreamTap {
  readonly reading: UsageReading;
  /** The response's id and model, as the stream's events name them. */
  readonly response?: ResponseNames;
  event(data: string, name?: string): string | null;
}

/**
 * Where a client of a style puts its key: a header, after a scheme (`Bearer`) or as its whole
 * value, or a query parameter. Whatever sits there is the client's own credential (a Tollgate
 * session token): it is read for identity and never sent upstream.
 */
export type KeyPlace = { readonly header: string; readonly scheme?: string } | { readonly query: string };

/** A request as a traffic line or a call found in source describes it, before any wire format. */
export interface PlainRequest {
  readonly model: string;
  /** In order; `system` turns become the instructions where the style keeps them apart. */
  readonly messages: readonly { readonly role: string; readonly content: string }[];
  readonly maxTokens?: number;
  /** Held as the output maximum where the style requires one and the request gives none. */
  readonly reserveOutputTokens: number;
  readonly stream?: boolean;
}

/** What a found call is, as the quota preview names it. */
export type PreviewApi = 'chat' | 'responses' | 'embeddings' | 'messages' | 'completions';

/**
 * An SDK call the quota preview recognises in source: `client.<chain...>.<method>(...)`. A
 * method in `streamMethods` streams.
 */
export interface SdkCall {
  readonly chain: readonly string[];
  readonly methods: readonly string[];
  readonly streamMethods: readonly string[];
  readonly api: PreviewApi;
  /** The route the call goes to. */
  readonly route: string;
  /** Taken for this style's call only with a `model` argument (the name is common elsewhere). */
  readonly needsModel?: boolean;
}

/** Environment variables the style's SDKs and agents read, pointed at the proxy. */
export interface SdkEnvironment {
  readonly baseUrl: { readonly name: string; readonly value: string };
  readonly apiKey: { readonly name: string; readonly value: string };
  /** Anything else the SDKs need set to start (Azure's API version). */
  readonly others?: readonly { readonly name: string; readonly value: string }[];
  /** Other variables the SDKs take a key from, some before `apiKey`: set to the same token, so no real key left in them wins. */
  readonly otherKeyNames?: readonly string[];
}

/** Everything provider-specific, behind one interface: the proxy never reads provider JSON itself. */
/** The GenAI conventions' operation names for the calls a proxy sees. */
export type GenAiOperation = 'chat' | 'text_completion' | 'generate_content' | 'embeddings' | 'count_tokens';

export interface ProviderAdapter {
  readonly style: StyleName;
  /** The provider's name as people write it: `OpenAI`. */
  readonly title: string;
  /** The routes this style serves; every other path is refused before anything is forwarded. */
  readonly routes: RouteTable;
  /** The generating route a request means when it names none (a traffic line without `route`). */
  readonly defaultRoute: string;
  /**
   * How the OpenTelemetry GenAI conventions name this provider (`gen_ai.provider.name`: one of
   * their well-known values) and a generating call's operation (`gen_ai.operation.name`).
   */
  readonly genAi: { readonly provider: string; generateOperation(route: string): GenAiOperation };
  /** Where this style's clients put their key, in the order they are read. */
  readonly clientKeys: readonly KeyPlace[];
  /** Client headers the style's SDKs need upstream (API version, beta flags); no others pass unless the bundle says so. */
  readonly clientHeaders: readonly string[];
  describe(provider: string, route: string, method: string, body: unknown, settings?: DescribeSettings): ModelCall;
  rewrite(body: Record<string, unknown>, call: ModelCall, changes: RequestChanges): { body: Record<string, unknown>; strippedUsage: boolean };
  /** The path to send upstream, for a style that names the model in it (a downgrade changes it there); without it, the route as it came. */
  upstreamPath?(route: string, call: ModelCall, changes: RequestChanges): string;
  /** The top-level fields `rewrite` reads or changes, and no others: a large body keeps only these parsed. */
  readonly rewriteFields: readonly string[];
  /**
   * The top-level fields that declare or choose tools. `rewrite` changes them only to strip tools,
   * so a large body parses them only then (they are most of an agent's request).
   */
  readonly toolFields: readonly string[];
  /** The headers that carry the real upstream key. */
  authHeaders(key: string): Record<string, string>;
  /**
   * The body of a refusal of this kind, in the style's own error shape (what its SDKs raise).
   * `message` is what a person reads; `details` holds the numbers the provider's own wording
   * states (a context overflow: the prompt's size and the limit), worded as the provider words them.
   */
  errorBody(kind: ErrorKind, message: string, details?: ErrorDetails): unknown;
  usageFromBody(json: unknown): UsageReading;
  /** The response's id and model, from a whole JSON body (for spans). */
  responseFromBody?(json: unknown): ResponseNames;
  streamTap(stripUsage: boolean): StreamTap;
  /** Tokens of output text, counted as this style's model counts them (for a stream cut short). */
  countOutput(text: string): number;
  /** A request body for one of the style's routes, from a plain description. */
  requestFor(route: string, request: PlainRequest): Record<string, unknown>;
  /**
   * The path a plain request goes to, for a style whose routes name the model or say whether it
   * streams (`/v1beta/models/{model}:generateContent`); without it, the route as given.
   */
  routeFor?(route: string, request: PlainRequest): string;
  /** What the style's SDKs and agents read to talk to the proxy, at the provider's proxy URL. */
  sdkEnvironment(providerUrl: string, sessionToken: string): SdkEnvironment;
  /** The hosts the provider serves its own API from: its key goes there without asking. */
  readonly officialHosts: readonly string[];
  /** The key scanner's rules whose keys are this provider's upstream keys (the proxy can hold them). */
  readonly keyRules: readonly string[];
  /** The SDK calls the quota preview recognises for this style. */
  readonly sdkCalls: readonly SdkCall[];
  /**
   * Model names only this style's provider serves, by prefix (`claude`), for the preview's
   * suggestions. A style without them (OpenAI-compatible servers) may serve any model.
   */
  readonly modelPrefixes?: readonly string[];
}
