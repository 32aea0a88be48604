export type SkipReason = 'binary' | 'too-large' | 'minified';

export const defaultMaxFileBytes = 1024 * 1024;

const minifiable = /\.(?:js|mjs|cjs|css|map)$/i;

/** True for bytes that are not text: a NUL in the first 8 KB, as git decides. */
export function isBinary(bytes: Uint8Array): boolean {
  const end = Math.min(bytes.length, 8000);
  for (let i = 0; i < end; i++) if (bytes[i] === 0) return true;
  return false;
}

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
  if (isBinary(bytes)) return 'binary';
  const text = new TextDecoder('utf-8').decode(bytes);
  if (isMinified(path, text)) return 'minified';
  return { text };
}
