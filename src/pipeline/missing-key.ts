import { APPROVE_UPSTREAM_HOSTS_COMMAND, SET_UPSTREAM_KEY_COMMAND } from '../contracts/command-titles';

// What a call answers when the proxy has no upstream key for its provider: which variable to set,
// or, when the editor withheld the key because the person has not approved the upstream host the
// workspace chose, which host and how to approve it.

/**
 * Set by the editor when it starts the proxy: a JSON object naming, per provider, the upstream
 * origin whose key it withheld. Only ever changes the message; the key is simply absent.
 */
export const WITHHELD_KEYS_ENV = 'TOLLGATE_WITHHELD_KEYS';

export function missingKeyMessage(provider: { readonly name: string; readonly keyEnv?: string }, env: NodeJS.ProcessEnv): string {
  const origin = withheldOrigin(env[WITHHELD_KEYS_ENV], provider.name);
  if (origin) {
    return `the proxy has no upstream key for '${provider.name}': this workspace sends '${provider.name}' to ${origin}, not the provider's own host, and your key goes there only once you approve that host for the workspace: run "${APPROVE_UPSTREAM_HOSTS_COMMAND.title}" (or remove the upstream from tollgate.yaml or the tollgate.proxy.upstreams setting)`;
  }
  return `the proxy has no upstream key for '${provider.name}': set ${provider.keyEnv} in the proxy's environment (the editor's "${SET_UPSTREAM_KEY_COMMAND.title}" command does this)`;
}

function withheldOrigin(json: string | undefined, provider: string): string | undefined {
  if (!json) return undefined;
  try {
    const parsed = JSON.parse(json) as unknown;
    const origin = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>)[provider] : undefined;
    return typeof origin === 'string' ? origin : undefined;
  } catch {
    return undefined;
  }
}
