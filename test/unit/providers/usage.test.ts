import assert from 'node:assert/strict';
import type { Usage } from '../../../src/engine/decision';
import type { UsageReading } from '../../../src/providers/usage';
import { settleUsage } from '../../../src/providers/usage';

// The usage a call settles at: the totals, and each billed part only where the provider reported it.

describe('settleUsage: the billed parts', () => {
  const cases: { name: string; reading: UsageReading; aborted: boolean; usage: Usage | undefined }[] = [
    { name: 'totals only: no parts named', reading: { input: 10, output: 2, outputText: '' }, aborted: false, usage: { input_tokens: 10, output_tokens: 2, tool_calls: 0, tool_names: [] } },
    {
      name: 'cache writes of both durations are one count, the 1-hour part kept for pricing',
      reading: { input: 21_550, output: 7, cacheRead: 20_000, cacheWrite: 1_000, cacheWrite1h: 500, outputText: '' }, aborted: false,
      usage: { input_tokens: 21_550, output_tokens: 7, cache_read_input_tokens: 20_000, cache_write_input_tokens: 1_500, cache_write_1h_input_tokens: 500, tool_calls: 0, tool_names: [] },
    },
    { name: 'reasoning', reading: { input: 5, output: 300, reasoning: 256, outputText: '' }, aborted: false, usage: { input_tokens: 5, output_tokens: 300, reasoning_output_tokens: 256, tool_calls: 0, tool_names: [] } },
    { name: 'a reported zero is a count', reading: { input: 5, output: 1, cacheRead: 0, outputText: '' }, aborted: false, usage: { input_tokens: 5, output_tokens: 1, cache_read_input_tokens: 0, tool_calls: 0, tool_names: [] } },
    { name: 'usage that never arrived is unknown', reading: { input: 5, cacheRead: 4, outputText: 'x' }, aborted: false, usage: undefined },
    { name: 'an abort keeps the parts reported so far', reading: { input: 5, cacheRead: 4, outputText: 'abc' }, aborted: true, usage: { input_tokens: 5, output_tokens: 3, cache_read_input_tokens: 4, tool_calls: 0, tool_names: [] } },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(settleUsage(c.reading, 99, (t) => t.length, c.aborted), c.usage));
  }
});
