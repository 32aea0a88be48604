import type { ImageSize } from '../../engine/tokens/image-size';

// Image tokens as Google documents them for Gemini 2: an image with both sides at most 384 px is
// 258 tokens; a larger one is cut into 768 x 768 tiles of 258 tokens each.

const TILE_TOKENS = 258;
const TILE = 768;
const SMALL = 384;
/** An image whose size cannot be read (another format, a file by URI): held high, as ten tiles. */
export const UNKNOWN_IMAGE_TOKENS = 10 * TILE_TOKENS;

export function geminiImageTokens(size: ImageSize | undefined): number {
  if (!size) return UNKNOWN_IMAGE_TOKENS;
  if (size.width <= SMALL && size.height <= SMALL) return TILE_TOKENS;
  return Math.ceil(size.width / TILE) * Math.ceil(size.height / TILE) * TILE_TOKENS;
}
