import { countText } from '../../engine/tokens/count';

// Gemini's tokenizer is not published for local use, so Gemini-style counts are o200k's scaled up
// by GEMINI_FACTOR, chosen to over-count rather than under-count; the settle record charges the
// usage Google reports.

export const GEMINI_FACTOR = 1.25;

export function countGeminiText(text: string): number {
  return Math.ceil(countText(text) * GEMINI_FACTOR);
}
