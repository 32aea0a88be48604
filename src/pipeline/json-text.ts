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
