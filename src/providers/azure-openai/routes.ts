import { RouteTable } from '../routes';

// Azure OpenAI serves OpenAI's API under /openai: per deployment (the deployment in the path, an
// `api-version` in the query) and as the v1 API (the deployment in the body's `model`). Each
// route is an OpenAI route in another place, so the OpenAI wire code reads and rewrites it.

/** Every route the azure-openai style serves; `{id}` after `deployments` is the deployment's name. */
export const azureRoutes = new RouteTable([
  { pattern: '/openai/deployments/{id}/chat/completions', methods: ['POST'], kind: 'generate' },
  { pattern: '/openai/deployments/{id}/completions', methods: ['POST'], kind: 'generate' },
  { pattern: '/openai/deployments/{id}/embeddings', methods: ['POST'], kind: 'embed' },
  { pattern: '/openai/v1/chat/completions', methods: ['POST'], kind: 'generate' },
  { pattern: '/openai/v1/responses', methods: ['POST'], kind: 'generate' },
  { pattern: '/openai/v1/embeddings', methods: ['POST'], kind: 'embed' },
  { pattern: '/openai/v1/models', methods: ['GET'], kind: 'passthrough' },
  { pattern: '/openai/v1/models/{id}', methods: ['GET'], kind: 'passthrough' },
]);

const deploymentPath = /^\/openai\/deployments\/([^/]+)(\/.+)$/;

/** The deployment a route names in its path (`/openai/deployments/{id}/...`), if it names one. */
export function deploymentOfRoute(route: string): string | undefined {
  const m = deploymentPath.exec(route);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return m[1];
  }
}

/** The OpenAI route an Azure route is: `/openai/deployments/d/embeddings` and `/openai/v1/embeddings` are `/v1/embeddings`. */
export function openaiRouteOf(route: string): string {
  const m = deploymentPath.exec(route);
  if (m) return `/v1${m[2]}`;
  return route.startsWith('/openai/v1/') ? route.slice('/openai'.length) : route;
}
