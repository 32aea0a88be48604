// How numbers people read are put into words, the same on the command line, in refusals and in
// the views: a count with its noun agreeing, whole numbers where only whole things exist, money
// without float noise.

/** The noun for `n` of it: `plural(1, 'file')` is "file", `plural(2, 'file')` "files". */
export function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
  return n === 1 ? singular : pluralForm;
}

/** A count and its noun: "1 file", "3 files", "0 findings". */
export function counted(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${n} ${plural(n, singular, pluralForm)}`;
}

/**
 * A fractional count (a refilling bucket's 19.52 requests) as the whole number a person reads,
 * rounded up: a part of a request in use leaves less than a whole one free. The tolerance keeps
 * float noise (20.000000000000004) from counting as one more.
 */
export function wholeUp(n: number): number {
  return Math.max(0, Math.ceil(n - 1e-9));
}

/**
 * Dollars with sensible precision: cents from $1, four decimals below it, and two significant
 * digits below a cent so a call costing $0.000031 does not read $0.0000.
 */
export function dollars(usd: number): string {
  const sign = usd < 0 ? '-' : '';
  const n = Math.abs(usd);
  if (n >= 1) return `${sign}$${n.toFixed(2)}`;
  if (n >= 0.01 || n === 0) return `${sign}$${n.toFixed(4)}`;
  const decimals = Math.min(12, 1 - Math.floor(Math.log10(n)));
  return `${sign}$${n.toFixed(decimals)}`;
}
