import type { StyleName } from '../contracts/call';
import type { ProviderAdapter } from './adapter';
import { anthropicAdapter } from './anthropic/adapter';
import { azureOpenAIAdapter } from './azure-openai/adapter';
import { geminiAdapter } from './gemini/adapter';
import { openaiAdapter } from './openai/adapter';

// The one list of wire styles: a provider is a folder under src/providers and a line below.

/** A style that cannot be registered or looked up; `reason` says which. */
export class ProviderRegistryError extends Error {
  constructor(
    readonly reason: 'duplicate-style' | 'invalid-style' | 'unknown-style',
    message: string,
  ) {
    super(message);
    this.name = 'ProviderRegistryError';
  }
  static is(err: unknown, reason?: ProviderRegistryError['reason']): err is ProviderRegistryError {
    return err instanceof ProviderRegistryError && (reason === undefined || err.reason === reason);
  }
}

/** A style name is what a bundle writes after `style:`: lower case, digits and dashes. */
export const STYLE_NAME = /^[a-z][a-z0-9-]*$/;

const adapters = new Map<StyleName, ProviderAdapter>();

/**
 * Adds a style. Two adapters for one style, or a name a bundle could not write, fail at once.
 * Returns what takes it out again (a style registered for a test alone).
 */
export function registerProvider(adapter: ProviderAdapter): () => void {
  if (!STYLE_NAME.test(adapter.style)) throw new ProviderRegistryError('invalid-style', `'${adapter.style}' is not a style name (lower case letters, digits and dashes, starting with a letter)`);
  if (adapters.has(adapter.style)) throw new ProviderRegistryError('duplicate-style', `provider style '${adapter.style}' is registered twice`);
  adapters.set(adapter.style, adapter);
  return () => {
    if (adapters.get(adapter.style) === adapter) adapters.delete(adapter.style);
  };
}

export function adapterFor(style: StyleName): ProviderAdapter {
  const adapter = adapters.get(style);
  if (!adapter) throw new ProviderRegistryError('unknown-style', `no adapter for provider style '${style}' (registered: ${registeredStyles().join(', ')})`);
  return adapter;
}

export function registeredStyles(): StyleName[] {
  return [...adapters.keys()];
}

export function registeredAdapters(): ProviderAdapter[] {
  return [...adapters.values()];
}

/** The style whose route a path is, if any: a path of one style sent to a provider of another is named as such. */
export function styleOfPath(path: string): StyleName | undefined {
  return registeredAdapters().find((a) => a.routes.knows(path))?.style;
}

/** The style whose upstream keys a key-scanner rule finds, if the proxy can hold such a key. */
export function styleOfKeyRule(ruleId: string): StyleName | undefined {
  return registeredAdapters().find((a) => a.keyRules.includes(ruleId))?.style;
}

/**
 * The style whose provider serves a model: the one that claims its name by prefix, else the first
 * style that claims none (an OpenAI-compatible server may serve any model).
 */
export function styleOfModel(model: string): StyleName | undefined {
  const all = registeredAdapters();
  const claimed = all.find((a) => a.modelPrefixes?.some((p) => model.startsWith(p)));
  return (claimed ?? all.find((a) => a.modelPrefixes === undefined))?.style;
}

registerProvider(openaiAdapter);
registerProvider(anthropicAdapter);
registerProvider(azureOpenAIAdapter);
registerProvider(geminiAdapter);
