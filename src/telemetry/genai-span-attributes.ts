import type { Attributes } from '@opentelemetry/api';
import type { Settlement } from '../engine/decision';
import type { Identity } from '../engine/identity/identity';
import { DEFAULT_TELEMETRY } from '../engine/policy/model';
import type { DecidedCall } from '../pipeline/call-context';
import type { ResponseNames } from '../providers/usage';
import { genAiOperationName, genAiProviderName, MAX_NAME_LENGTH } from './genai-names';

// What a model call's span says, as the OpenTelemetry GenAI semantic conventions name it
// (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/), plus Tollgate's own
// `tollgate.*` attributes. Only names, numbers and ids: never a prompt, a key or a token.

// The GenAI names are still "development" in the conventions, so they are written here rather than
// imported from the conventions package's incubating entry, which may rename them in a minor release.
export const GenAi = {
  operation: 'gen_ai.operation.name',
  provider: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  requestStream: 'gen_ai.request.stream',
  responseModel: 'gen_ai.response.model',
  responseId: 'gen_ai.response.id',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  cacheReadTokens: 'gen_ai.usage.cache_read.input_tokens',
  cacheCreationTokens: 'gen_ai.usage.cache_creation.input_tokens',
  reasoningTokens: 'gen_ai.usage.reasoning.output_tokens',
} as const;

/** Stable attributes of the general conventions. */
export const General = {
  errorType: 'error.type',
  serverAddress: 'server.address',
  serverPort: 'server.port',
} as const;

export const Tollgate = {
  decisionId: 'tollgate.decision.id',
  outcome: 'tollgate.decision.outcome',
  rule: 'tollgate.decision.rule',
  shadow: 'tollgate.decision.shadow',
  usd: 'tollgate.cost.usd',
  usageKnown: 'tollgate.usage.known',
  policyName: 'tollgate.policy.name',
  policyHash: 'tollgate.policy.hash',
  /** The person, as the bundle's `telemetry.identity` allows: a keyed pseudonym (default) or the address. */
  userPseudonym: 'tollgate.user.pseudonym',
  userAddress: 'tollgate.user.address',
  agent: 'tollgate.agent.name',
  /** The model the client named, when the decision sent the request to another (a budget's downgrade). */
  modelAsked: 'tollgate.model.asked',
} as const;

/** `error.type` of a call admitted but not sent: the proxy holds no key for its provider. */
export const KEY_MISSING = 'upstream_key_missing';
/** `error.type` of a call cut off before its end (the client left or the upstream broke off). */
export const ABORTED = 'aborted';


/** Where a call goes upstream, for `server.address` and `server.port`. */
export interface UpstreamAddress {
  readonly address: string;
  readonly port: number;
}

/** The host and port of an upstream base URL (the port its scheme implies when none is written). */
export function upstreamAddressOf(base: string): UpstreamAddress | undefined {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    return undefined;
  }
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return { address: url.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

/** A span's name and kind-independent start: what is known once the call is decided. */
export interface SpanStart {
  readonly name: string;
  readonly attributes: Attributes;
}

/** The person and agent, as the bundle's telemetry section says spans may name them. */
export function identityAttributes(identity: Identity, mode: 'pseudonym' | 'user' | 'none', pseudonymOf: (user: string) => string): Attributes {
  const a: Attributes = { [Tollgate.agent]: identity.agent };
  if (mode === 'pseudonym') a[Tollgate.userPseudonym] = pseudonymOf(identity.user);
  else if (mode === 'user') a[Tollgate.userAddress] = identity.user;
  return a;
}

/**
 * The span of a decided call, or undefined for a call that invokes no model (GET /v1/models):
 * `{gen_ai.operation.name} {gen_ai.request.model}`, with what the request and the decision say.
 */
export function spanStartOf(c: DecidedCall, upstream: UpstreamAddress | undefined, pseudonymOf: (user: string) => string): SpanStart | undefined {
  const operation = genAiOperationName(c.call);
  if (!operation) return undefined;
  const d = c.decision;
  // The request went to the model the decision served (a downgrade changes it), as the metrics
  // name it. The client writes the model: a span never carries more of it than a name needs.
  const asked = c.call.model?.slice(0, MAX_NAME_LENGTH);
  const model = d.modelServed?.slice(0, MAX_NAME_LENGTH) ?? asked;
  const attributes: Attributes = {
    [GenAi.operation]: operation,
    [GenAi.provider]: genAiProviderName(c.call),
    [GenAi.requestStream]: c.call.stream,
    [Tollgate.outcome]: d.outcome,
    [Tollgate.policyName]: d.policy.name,
    [Tollgate.policyHash]: d.policy.hash,
    ...identityAttributes(c.identity, (c.rules.policy.telemetry ?? DEFAULT_TELEMETRY).identity, pseudonymOf),
  };
  if (model) attributes[GenAi.requestModel] = model;
  if (asked && asked !== model) attributes[Tollgate.modelAsked] = asked;
  if (d.rule) attributes[Tollgate.rule] = d.rule;
  if (d.shadow) attributes[Tollgate.shadow] = true;
  if (upstream) {
    attributes[General.serverAddress] = upstream.address;
    attributes[General.serverPort] = upstream.port;
  }
  return { name: model ? `${operation} ${model}` : operation, attributes };
}

/** How a span ends: what it adds, and the error it ended with, if any. */
export interface SpanEnd {
  readonly attributes: Attributes;
  /** `error.type`: the span's status is ERROR when set. */
  readonly errorType?: string;
}

/** A call the decision refused: nothing went upstream, nothing was spent. */
export function refusedEnd(c: DecidedCall, decisionId: string | undefined): SpanEnd {
  const errorType = c.decision.refusal ?? 'rate-limit';
  return { attributes: { ...idOf(decisionId), [Tollgate.usd]: 0, [General.errorType]: errorType }, errorType };
}

/** A call admitted but never sent: the proxy holds no upstream key for its provider. */
export function releasedEnd(decisionId: string | undefined): SpanEnd {
  return { attributes: { ...idOf(decisionId), [Tollgate.usd]: 0, [General.errorType]: KEY_MISSING }, errorType: KEY_MISSING };
}

/**
 * A forwarded call that has ended: what it used (only when the provider reported it; a usage
 * never reported is not zero), what it cost, the response's names, and its error: the HTTP
 * status code an upstream answered with 4xx or 5xx, or `aborted` for a call cut off.
 */
export function settledEnd(s: Settlement, status: number, aborted: boolean, response: ResponseNames | undefined): SpanEnd {
  const a: Attributes = { [Tollgate.usd]: s.usd, [Tollgate.usageKnown]: s.usageKnown };
  if (s.usageKnown) {
    const u = s.usage;
    a[GenAi.inputTokens] = u.input_tokens;
    a[GenAi.outputTokens] = u.output_tokens;
    if (u.cache_read_input_tokens !== undefined) a[GenAi.cacheReadTokens] = u.cache_read_input_tokens;
    if (u.cache_write_input_tokens !== undefined) a[GenAi.cacheCreationTokens] = u.cache_write_input_tokens;
    if (u.reasoning_output_tokens !== undefined) a[GenAi.reasoningTokens] = u.reasoning_output_tokens;
  }
  if (response?.id) a[GenAi.responseId] = response.id;
  if (response?.model) a[GenAi.responseModel] = response.model;
  const errorType = status >= 400 ? String(status) : aborted ? ABORTED : undefined;
  if (errorType) a[General.errorType] = errorType;
  return { attributes: a, errorType };
}

function idOf(decisionId: string | undefined): Attributes {
  return decisionId ? { [Tollgate.decisionId]: decisionId } : {};
}
