import { decodeText } from './text-decoding';

export type SkipReason = 'binary' | 'too-large' | 'minified';

export const defaultMaxFileBytes = 1024 * 1024;

const minifiable = /\.(?:js|mjs|cjs|css|map)$/i;

/**
 * True for a minified bundle or source map: random-looking identifiers everywhere and no line a
 * person wrote. Such files are build output; the source they came from is what gets scanned.
 */
export function isMinified(path: string, text: string): boolean {
  if (/\.min\.(?:js|mjs|cjs|css)$/i.test(path) || /\.map$/i.test(path)) return true;
  if (!minifiable.test(path) || text.length < 4096) return false;
  let lines = 1;
  let longest = 0;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) {
    longest = Math.max(longest, i - start);
    start = i + 1;
    lines++;
  }
  longest = Math.max(longest, text.length - start);
  return longest > 2000 && text.length / lines > 250;
}

/** Decides whether a file's bytes are scanned, and why not. */
export function skipReasonFor(path: string, bytes: Uint8Array, maxBytes: number): SkipReason | { text: string } {
  if (bytes.length > maxBytes) return 'too-large';
  const decoded = decodeText(bytes);
  if (!decoded) return 'binary';
  if (isMinified(path, decoded.text)) return 'minified';
  return { text: decoded.text };
}
