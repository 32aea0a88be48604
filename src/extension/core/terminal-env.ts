import { registeredAdapters } from '../../providers/registry';

// The environment the editor's terminals and debug sessions get so SDKs talk to the local proxy:
// each provider style's base URL pointing at it and the developer's session token where its SDKs
// read an API key. The variables are the styles' own (src/providers/<style>/adapter.ts).

/** Variable name to value; TOLLGATE_PROXY_URL is the proxy itself. */
export type ProxyEnvironment = Readonly<Record<string, string>>;

/** Each style is reached at the provider of its own name (`/openai`, `/anthropic`). */
export function proxyEnvironment(proxyUrl: string, sessionToken: string): ProxyEnvironment {
  const base = proxyUrl.replace(/\/+$/, '');
  const env: Record<string, string> = {};
  for (const adapter of registeredAdapters()) {
    const { baseUrl, apiKey, otherKeyNames } = adapter.sdkEnvironment(`${base}/${adapter.style}`, sessionToken);
    env[baseUrl.name] = baseUrl.value;
    env[apiKey.name] = apiKey.value;
    for (const name of otherKeyNames ?? []) env[name] = apiKey.value;
  }
  env.TOLLGATE_PROXY_URL = base;
  return env;
}

function describeEnvironment(): string {
  const vars = registeredAdapters().map((a) => a.sdkEnvironment('', ''));
  const titles = registeredAdapters().map((a) => a.title).join(' and ');
  return `Tollgate points ${titles} SDKs at its local proxy (${vars.map((v) => v.baseUrl.name).join(', ')}) and sets ${vars.map((v) => v.apiKey.name).join(' / ')} to your Tollgate session token; the real keys stay in the proxy.`;
}

export const environmentDescription = describeEnvironment();
