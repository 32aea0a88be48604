import { countText } from '../../engine/tokens/count';

// No tokenizer for Claude is published, so Anthropic-style counts are o200k's scaled up by
// ANTHROPIC_FACTOR: Claude's tokenizer yields more tokens than o200k for the same English and
// code, and this factor is chosen to over-count rather than under-count; the settle record
// charges the true usage.

export const ANTHROPIC_FACTOR = 1.35;

export function countAnthropicText(text: string): number {
  return Math.ceil(countText(text) * ANTHROPIC_FACTOR);
}
