import assert from 'node:assert/strict';
import type { EffectiveEntitlement } from '../../../../src/engine/entitlements';
import { checkContextCap } from '../../../../src/engine/rules/context-cap';
import { call, who } from './facts';
import type { CallFields } from './facts';

function capped(maxInputTokens: number | undefined): EffectiveEntitlement {
  return { modelAllowed: () => true, routeAllowed: () => true, providerAllowed: () => true, maxInputTokens };
}

describe('rules: context cap', () => {
  const cases: readonly { name: string; cap?: number; call: CallFields; refused: boolean }[] = [
    { name: 'admits any prompt without a cap', call: { inputTokens: 1_000_000 }, refused: false },
    { name: 'admits a prompt at the cap', cap: 1000, call: { inputTokens: 1000 }, refused: false },
    { name: 'refuses a prompt over the cap', cap: 1000, call: { inputTokens: 1001 }, refused: true },
    { name: 'refuses an embedding over the cap', cap: 1000, call: { kind: 'embed', inputTokens: 5000 }, refused: true },
    { name: 'admits a passthrough, which sends no prompt', cap: 0, call: { kind: 'passthrough', inputTokens: 10 }, refused: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = checkContextCap(who(), call(c.call), capped(c.cap));
      assert.equal(r !== undefined, c.refused);
      if (r) {
        assert.deepEqual({ refusal: r.refusal, rule: r.rule }, { refusal: 'context', rule: 'entitlements.max_input_tokens' });
        assert.match(r.reason, new RegExp(`about ${c.call.inputTokens} tokens, over the context cap of ${c.cap} for bob@acme.dev \\(the team's cap, not the model's`));
        assert.deepEqual(r.details, { inputTokens: c.call.inputTokens, maxInputTokens: c.cap });
      }
    });
  }
});
