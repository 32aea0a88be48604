// The environment the editor's terminals and debug sessions get so SDKs talk to the local proxy:
// base URLs pointing at it and the developer's session token where the SDKs read an API key.

export interface ProxyEnvironment {
  readonly OPENAI_BASE_URL: string;
  readonly ANTHROPIC_BASE_URL: string;
  readonly OPENAI_API_KEY: string;
  readonly ANTHROPIC_API_KEY: string;
  readonly TOLLGATE_PROXY_URL: string;
}

/** OpenAI's SDKs expect `/v1` in the base URL; Anthropic's add it themselves. */
export function proxyEnvironment(proxyUrl: string, sessionToken: string): ProxyEnvironment {
  const base = proxyUrl.replace(/\/+$/, '');
  return {
    OPENAI_BASE_URL: `${base}/openai/v1`,
    ANTHROPIC_BASE_URL: `${base}/anthropic`,
    OPENAI_API_KEY: sessionToken,
    ANTHROPIC_API_KEY: sessionToken,
    TOLLGATE_PROXY_URL: base,
  };
}

export const environmentDescription =
  'Tollgate points OpenAI and Anthropic SDKs at its local proxy (OPENAI_BASE_URL, ANTHROPIC_BASE_URL) and sets OPENAI_API_KEY / ANTHROPIC_API_KEY to your Tollgate session token; the real keys stay in the proxy.';
