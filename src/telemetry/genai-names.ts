import type { ModelCall } from '../contracts/call';
import type { GenAiOperation } from '../providers/adapter';
import { adapterFor } from '../providers/registry';

// The OpenTelemetry GenAI conventions' names for a call, shared by its span and its metrics.

/** The longest name a client chooses (a model's) that a span or a metric label carries: a client may send one of any length. */
export const MAX_NAME_LENGTH = 256;

/** `gen_ai.provider.name`: the conventions' well-known value for the call's wire style. */
export function genAiProviderName(call: ModelCall): string {
  return adapterFor(call.style).genAi.provider;
}

/** `gen_ai.operation.name`, or undefined for a call that invokes no model (GET /v1/models). */
export function genAiOperationName(call: ModelCall): GenAiOperation | undefined {
  switch (call.kind) {
    case 'generate':
      return adapterFor(call.style).genAi.generateOperation(call.route);
    case 'embed':
      return 'embeddings';
    case 'count':
      return 'count_tokens';
    case 'passthrough':
      return undefined;
  }
}
