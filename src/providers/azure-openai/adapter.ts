import type { ModelCall } from '../../contracts/call';
import { MalformedRequestError } from '../../contracts/call';
import type { ErrorDetails, ErrorKind } from '../../contracts/refusal';
import type { DescribeSettings, PlainRequest, ProviderAdapter, RequestChanges, SdkEnvironment, StreamTap } from '../adapter';
import { openaiAdapter, openaiOperation } from '../openai/adapter';
import { describeOpenAICall } from '../openai/request';
import type { ResponseNames, UsageReading } from '../usage';
import { azureRoutes, deploymentOfRoute, openaiRouteOf } from './routes';

// Azure OpenAI speaks OpenAI's wire format at other paths, and names deployments where OpenAI
// names models. The bundle's deployment map says which model each deployment serves, so
// entitlements, limits and prices see the model; reading, rewriting, usage and errors are the
// OpenAI style's own code, given the OpenAI route the Azure route is.

/** The API version the SDK environment names: Azure's generally available one the SDKs know. */
export const AZURE_API_VERSION = '2024-10-21';

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function listed(deployments: Readonly<Record<string, string>>): string {
  const names = Object.keys(deployments);
  return names.length ? names.join(', ') : 'none';
}

/**
 * Where a call may be served another model (a downgrade), and which deployment serves it. A
 * deployment named in the path goes upstream as sent, so it is served its own model only. The v1
 * API names the deployment in the body, which a downgrade rewrites to a deployment serving the
 * new model (the first the map lists for it).
 */
function servedAs(deployments: Readonly<Record<string, string>>, named: string, model: string, inPath: boolean): Record<string, string> {
  const out: Record<string, string> = { [model]: named };
  if (inPath) return out;
  for (const [deployment, served] of Object.entries(deployments)) if (!Object.hasOwn(out, served)) out[served] = deployment;
  return out;
}

function describe(provider: string, route: string, method: string, body: unknown, settings?: DescribeSettings): ModelCall {
  const match = azureRoutes.match(method, route);
  if (!match.ok) throw new MalformedRequestError(`${method} ${route} is not a call the azure-openai style serves`);
  const wire = openaiRouteOf(route);
  if (match.spec.kind === 'passthrough') return { ...describeOpenAICall(provider, wire, method, body), style: 'azure-openai', route };
  if (!isObject(body)) throw new MalformedRequestError('the request body must be a JSON object');
  const inPath = deploymentOfRoute(route);
  const named = inPath ?? body.model;
  if (typeof named !== 'string' || named === '') throw new MalformedRequestError('"model" is required and must be a string: it names the Azure deployment');
  const deployments = settings?.deployments ?? {};
  const model = Object.hasOwn(deployments, named) ? deployments[named] : undefined;
  if (model === undefined) {
    throw new MalformedRequestError(`deployment '${named}' is not one provider '${provider}' lists in its deployments (it lists: ${listed(deployments)}); the bundle names the model each deployment serves`);
  }
  const call = describeOpenAICall(provider, wire, method, { ...body, model });
  return { ...call, style: 'azure-openai', route, servedAs: servedAs(deployments, named, model, inPath !== undefined) };
}

export const azureOpenAIAdapter: ProviderAdapter = {
  style: 'azure-openai',
  title: 'Azure OpenAI',
  routes: azureRoutes,
  defaultRoute: '/openai/v1/chat/completions',
  genAi: { provider: 'azure.ai.openai', generateOperation: openaiOperation },
  // Azure's SDKs send the key in api-key; the v1 API's clients (and Entra ID tokens) use Bearer.
  clientKeys: [{ header: 'api-key' }, { header: 'authorization', scheme: 'Bearer' }],
  // Each resource is its own host; see upstream trust for why any resource host is the provider's own.
  officialHosts: ['*.openai.azure.com'],
  keyRules: ['azure-openai-key'],
  // An AzureOpenAI client's calls read as an OpenAI client's: the openai style's entries find them.
  sdkCalls: [],
  clientHeaders: [],
  rewriteFields: openaiAdapter.rewriteFields,
  toolFields: openaiAdapter.toolFields,

  describe,

  rewrite(body: Record<string, unknown>, call: ModelCall, changes: RequestChanges): { body: Record<string, unknown>; strippedUsage: boolean } {
    // A downgraded model is written as the deployment that serves it.
    const model = changes.model !== undefined && changes.model !== call.model ? call.servedAs?.[changes.model] ?? changes.model : undefined;
    return openaiAdapter.rewrite(body, { ...call, route: openaiRouteOf(call.route) }, { ...changes, model });
  },

  authHeaders(key: string): Record<string, string> {
    return { 'api-key': key };
  },

  errorBody(kind: ErrorKind, message: string, details?: ErrorDetails): unknown {
    return openaiAdapter.errorBody(kind, message, details);
  },

  usageFromBody(json: unknown): UsageReading {
    return openaiAdapter.usageFromBody(json);
  },

  responseFromBody(json: unknown): ResponseNames {
    return openaiAdapter.responseFromBody?.(json) ?? {};
  },

  streamTap(stripUsage: boolean): StreamTap {
    return openaiAdapter.streamTap(stripUsage);
  },

  countOutput(text: string): number {
    return openaiAdapter.countOutput(text);
  },

  requestFor(route: string, request: PlainRequest): Record<string, unknown> {
    return openaiAdapter.requestFor(openaiRouteOf(route), request);
  },

  /** The SDKs add `/openai` to the endpoint themselves, and refuse to start without an API version. */
  sdkEnvironment(providerUrl: string, sessionToken: string): SdkEnvironment {
    return {
      baseUrl: { name: 'AZURE_OPENAI_ENDPOINT', value: providerUrl },
      apiKey: { name: 'AZURE_OPENAI_API_KEY', value: sessionToken },
      others: [{ name: 'OPENAI_API_VERSION', value: AZURE_API_VERSION }],
    };
  },
};
