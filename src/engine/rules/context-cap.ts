import type { ModelCall } from '../../contracts/call';
import type { EffectiveEntitlement } from '../entitlements';
import type { Identity } from '../identity/identity';
import type { CheckRefusal } from './refusal';

// The context cap (entitlements' max_input_tokens): a prompt larger than the person may send is
// refused before anything is held, since no wait makes it smaller.

export function checkContextCap(id: Identity, call: ModelCall, ent: EffectiveEntitlement): CheckRefusal | undefined {
  if (call.kind === 'passthrough' || ent.maxInputTokens === undefined || call.inputTokens <= ent.maxInputTokens) return undefined;
  return {
    refusal: 'context',
    rule: 'entitlements.max_input_tokens',
    reason: `the prompt is about ${call.inputTokens} tokens, over the context cap of ${ent.maxInputTokens} for ${id.user} (the team's cap, not the model's context window)`,
    details: { inputTokens: call.inputTokens, maxInputTokens: ent.maxInputTokens },
  };
}
