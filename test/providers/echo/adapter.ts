import type { ModelCall } from '../../../src/contracts/call';
import { MalformedRequestError } from '../../../src/contracts/call';
import type { ErrorKind } from '../../../src/contracts/refusal';
import { countText } from '../../../src/engine/tokens/count';
import type { PlainRequest, ProviderAdapter, RequestChanges, SdkEnvironment, StreamTap } from '../../../src/providers/adapter';
import { registerProvider } from '../../../src/providers/registry';
import { RouteTable } from '../../../src/providers/routes';
import type { UsageReading } from '../../../src/providers/usage';
import { newReading, num } from '../../../src/providers/usage';

// A provider style that exists only in the tests, with a wire format of its own in every part the
// adapter covers: its own paths, the client's key in the query string, the upstream's key in a
// header of its own, usage a stream reports only when asked, and an error shape no SDK shares.
// It proves that a provider is this one folder and the one registry call at the end.

/** POST /v2/echo {model, say: [text], max_out?, stream?, report_usage?, end_user?} -> {echoed, spent: {in, out}} */
const routes = new RouteTable([
  { pattern: '/v2/echo', methods: ['POST'], kind: 'generate' },
  { pattern: '/v2/catalog', methods: ['GET'], kind: 'passthrough' },
]);

const codes: Record<ErrorKind, string> = {
  'rate-limit': 'SLOW_DOWN', trace: 'SLOW_DOWN', budget: 'NO_FUNDS', entitlement: 'NOT_YOURS', forbidden: 'NOT_YOURS',
  context: 'TOO_LONG', identity: 'WHO_ARE_YOU', 'bad-request': 'BAD', 'too-large': 'TOO_BIG', 'not-found': 'NOWHERE',
  upstream: 'UPSTREAM', timeout: 'UPSTREAM', unavailable: 'LATER',
};

interface Spent {
  in?: unknown;
  out?: unknown;
}

function readSpent(spent: Spent | undefined, r: UsageReading): void {
  if (!spent || typeof spent !== 'object') return;
  const input = num(spent.in);
  const output = num(spent.out);
  if (input !== undefined) r.input = input;
  if (output !== undefined) r.output = output;
}

class EchoStreamTap implements StreamTap {
  readonly reading = newReading();
  constructor(private readonly stripUsage: boolean) {}

  event(data: string): string | null {
    let event: { piece?: unknown; spent?: Spent };
    try {
      event = JSON.parse(data) as typeof event;
    } catch {
      return data;
    }
    if (typeof event.piece === 'string') this.reading.outputText += event.piece;
    readSpent(event.spent, this.reading);
    // Usage the proxy asked for and the client did not is dropped before the client sees it.
    return event.spent && this.stripUsage ? null : data;
  }
}

function describeEcho(provider: string, route: string, method: string, body: unknown): ModelCall {
  const match = routes.match(method, route);
  if (!match.ok) throw new MalformedRequestError(`${method} ${route} is not a call the echo style serves`);
  if (match.spec.kind === 'passthrough') return { provider, style: 'echo', route, kind: 'passthrough', stream: false, inputTokens: 0, choices: 1, texts: [] };
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new MalformedRequestError('the request body must be a JSON object');
  const b = body as { model?: unknown; say?: unknown; max_out?: unknown; stream?: unknown };
  if (typeof b.model !== 'string' || b.model === '') throw new MalformedRequestError('"model" is required');
  if (!Array.isArray(b.say) || !b.say.every((s) => typeof s === 'string')) throw new MalformedRequestError('"say" must be an array of strings');
  const texts = b.say as string[];
  const maxOut = b.max_out === undefined ? undefined : num(b.max_out);
  return {
    provider, style: 'echo', route, kind: 'generate', model: b.model, stream: b.stream === true,
    inputTokens: texts.reduce((n, t) => n + countText(t), 0), requestedOutputTokens: maxOut, choices: 1, texts,
  };
}

export const echoAdapter: ProviderAdapter = {
  style: 'echo',
  title: 'Echo',
  routes,
  defaultRoute: '/v2/echo',
  // A provider outside the conventions' list names itself.
  genAi: { provider: 'echo', generateOperation: () => 'chat' },
  clientKeys: [{ query: 'key' }],
  clientHeaders: ['x-echo-version'],
  rewriteFields: ['model', 'max_out', 'end_user', 'report_usage'],
  toolFields: [],
  officialHosts: ['api.echo.test'],
  keyRules: [],
  sdkCalls: [],

  describe: describeEcho,

  rewrite(body: Record<string, unknown>, call: ModelCall, changes: RequestChanges): { body: Record<string, unknown>; strippedUsage: boolean } {
    const out: Record<string, unknown> = { ...body };
    if (changes.model && call.model !== changes.model) out.model = changes.model;
    if (changes.outputCap !== undefined) out.max_out = typeof out.max_out === 'number' ? Math.min(out.max_out, changes.outputCap) : changes.outputCap;
    if (changes.pseudonym) out.end_user = changes.pseudonym;
    const ask = call.stream && out.report_usage !== true;
    if (ask) out.report_usage = true;
    return { body: out, strippedUsage: ask };
  },

  authHeaders(key: string): Record<string, string> {
    return { 'x-echo-secret': key };
  },

  errorBody(kind: ErrorKind, message: string): unknown {
    return { failure: { code: codes[kind], said: message } };
  },

  usageFromBody(json: unknown): UsageReading {
    const r = newReading();
    if (json && typeof json === 'object') readSpent((json as { spent?: Spent }).spent, r);
    return r;
  },

  streamTap(stripUsage: boolean): StreamTap {
    return new EchoStreamTap(stripUsage);
  },

  countOutput: countText,

  requestFor(_route: string, r: PlainRequest): Record<string, unknown> {
    return { model: r.model, say: r.messages.map((m) => m.content), ...(r.maxTokens !== undefined ? { max_out: r.maxTokens } : {}), ...(r.stream ? { stream: true } : {}) };
  },

  sdkEnvironment(providerUrl: string, sessionToken: string): SdkEnvironment {
    return { baseUrl: { name: 'ECHO_URL', value: providerUrl }, apiKey: { name: 'ECHO_KEY', value: sessionToken } };
  },
};

/** The one registry call; the conformance suite takes the style out again when it is done. */
export const unregister = registerProvider(echoAdapter);
