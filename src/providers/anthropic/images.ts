import type { ImageSize } from '../../engine/tokens/image-size';

// Image tokens as Anthropic documents them.

/** About width x height / 750, after scaling to at most 1568 px on the long edge. */
export function anthropicImageTokens(size: ImageSize | undefined): number {
  if (!size) return 1600;
  let { width: w, height: h } = size;
  const fit = Math.min(1, 1568 / Math.max(w, h));
  w *= fit;
  h *= fit;
  return Math.min(1600, Math.ceil((w * h) / 750));
}
