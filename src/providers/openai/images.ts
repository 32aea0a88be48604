import type { ImageSize } from '../../engine/tokens/image-size';

// Image tokens as OpenAI documents them.

/** OpenAI vision models: low detail is a flat base; high detail adds a price per 512-px tile. */
function openaiImageRates(model: string): { base: number; tile: number } {
  // The mini models bill images at a higher token rate to keep the same price per image.
  if (/^gpt-4o-mini/.test(model)) return { base: 2833, tile: 5667 };
  return { base: 85, tile: 170 };
}

export function openaiImageTokens(model: string, size: ImageSize | undefined, detail: string | undefined): number {
  const { base, tile } = openaiImageRates(model);
  if (detail === 'low') return base;
  // Unknown size: the most tiles an image can reach after the documented scaling (768 x 2048).
  if (!size) return base + tile * 8;
  let { width: w, height: h } = size;
  const fit = Math.min(1, 2048 / Math.max(w, h));
  w *= fit;
  h *= fit;
  const shortSide = Math.min(w, h);
  if (shortSide > 768) {
    const s = 768 / shortSide;
    w *= s;
    h *= s;
  }
  return base + tile * Math.ceil(w / 512) * Math.ceil(h / 512);
}
