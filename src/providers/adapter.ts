import type { ModelCall } from '../contracts/call';
import { anthropicAdapter } from './anthropic/adapter';
import type { ErrorKind } from '../contracts/refusal';
import { openaiAdapter } from './openai/adapter';
import type { RouteTable } from './routes';
import type { UsageReading } from './usage';

/** What the policy changes in a request before it goes upstream. */
export interface RequestChanges {
  /** The model to serve (a downgrade rewrites it). */
  readonly model?: string;
  /** The entitlement's output maximum. */
  readonly outputCap?: number;
  /** The provider's end-user field: a keyed pseudonym, never the address. */
  readonly pseudonym?: string;
}

/** Reads a stream's events as they pass and may rewrite them; null drops an event. */
export interface StreamTap {
  readonly reading: UsageReading;
  event(data: string, name?: string): string | null;
}

/** Everything provider-specific, behind one interface: the proxy never reads provider JSON itself. */
export interface ProviderAdapter {
  readonly style: 'openai' | 'anthropic';
  /** The routes this style serves; every other path is refused before anything is forwarded. */
  readonly routes: RouteTable;
  /** Client headers the style's SDKs need upstream (API version, beta flags); no others pass unless the bundle says so. */
  readonly clientHeaders: readonly string[];
  describe(provider: string, route: string, method: string, body: unknown): ModelCall;
  rewrite(body: Record<string, unknown>, call: ModelCall, changes: RequestChanges): { body: Record<string, unknown>; strippedUsage: boolean };
  /** The top-level fields `rewrite` reads or changes, and no others: a large body keeps only these parsed. */
  readonly rewriteFields: readonly string[];
  authHeaders(key: string): Record<string, string>;
  errorBody(kind: ErrorKind, message: string): unknown;
  usageFromBody(json: unknown): UsageReading;
  streamTap(stripUsage: boolean): StreamTap;
  countOutput(text: string): number;
}

const adapters: readonly ProviderAdapter[] = [openaiAdapter, anthropicAdapter];

/** The style whose route a path is, if any: a path of one style sent to a provider of another is named as such. */
export function styleOfPath(path: string): ProviderAdapter['style'] | undefined {
  return adapters.find((a) => a.routes.knows(path))?.style;
}

export function adapterFor(style: string): ProviderAdapter {
  switch (style) {
    case 'openai':
      return openaiAdapter;
    case 'anthropic':
      return anthropicAdapter;
    default:
      throw new Error(`no adapter for provider style '${style}'`);
  }
}
