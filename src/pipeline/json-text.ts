/*
 * Scanning JSON text as bytes, for the readers that find their way through a body without parsing
 * it whole (request-body.ts, the proxy's depth check and piecewise parse). Strings are most of a
 * prompt's bytes, so a string is skipped with a native search for its closing quote rather than
 * byte by byte.
 */

/** Whether `c` is JSON whitespace. */
export function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * The index after the string whose opening quote is at `i`, or -1 when it does not close before
 * `end`. A quote after an odd run of backslashes is escaped, so the search goes on past it.
 */
export function jsonStringEnd(b: Buffer, i: number, end: number = b.length): number {
  let at = i + 1;
  for (;;) {
    const quote = b.indexOf(0x22, at);
    if (quote < 0 || quote >= end) return -1;
    let slashes = 0;
    while (b[quote - 1 - slashes] === 0x5c) slashes++;
    if (slashes % 2 === 0) return quote + 1;
    at = quote + 1;
  }
}

/**
 * The index after the value starting at `i` (not a space), or -1 when it does not end before
 * `end`; found by its delimiters: strings are skipped whole, brackets counted. Whatever lies inside
 * is checked by whoever parses the value.
 */
export function jsonValueEnd(b: Buffer, i: number, end: number = b.length): number {
  const c = b[i]!;
  if (c === 0x22) return jsonStringEnd(b, i, end);
  if (c !== 0x7b && c !== 0x5b) {
    while (i < end && !isJsonSpace(b[i]!) && b[i] !== 0x2c && b[i] !== 0x7d && b[i] !== 0x5d) i++;
    return i;
  }
  let depth = 0;
  for (; i < end; i++) {
    const d = b[i]!;
    if (d === 0x22) {
      i = jsonStringEnd(b, i, end);
      if (i < 0) return -1;
      i--;
    } else if (d === 0x7b || d === 0x5b) depth++;
    else if ((d === 0x7d || d === 0x5d) && --depth === 0) return i + 1;
  }
  return -1;
}
