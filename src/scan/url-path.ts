// How far back a URL's scheme is looked for; a URL longer than this is not a URL a person wrote.
const maxUrlLength = 2048;

// Characters that end a URL written in text: whitespace, quotes and brackets around it.
const urlDelimiters = new Set([...' \t\r\n"\'`<>()[]{}'].map((c) => c.charCodeAt(0)));

const slash = 0x2f;

/** True when the run of non-delimiters ending at `offset` holds a scheme (`https://`, or `https:\/\/` in JSON). */
function isInsideUrl(text: string, offset: number): boolean {
  const limit = Math.max(0, offset - maxUrlLength);
  let start = offset;
  while (start > limit && !urlDelimiters.has(text.charCodeAt(start - 1))) start--;
  const run = text.slice(start, offset);
  return run.includes('://') || run.includes(':\\/\\/');
}

/**
 * Whether a `/` touching a candidate bounds it. In a URL path each segment is a value of its own
 * (`https://api.example.com/v1/<key>/x`); anywhere else a `/` joins the key-shaped characters to
 * a longer run (base64, a file path), so they are not a key by themselves.
 */
export function slashesBound(text: string, start: number, end: number): boolean {
  if (text.charCodeAt(start - 1) !== slash && text.charCodeAt(end) !== slash) return true;
  return isInsideUrl(text, start);
}
