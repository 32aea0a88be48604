/**
 * The printable form of a secret: its public prefix, at most two more characters, and the
 * length. Never more than a quarter of the secret is shown, so no output can leak a usable key.
 */
export function redactSecret(secret: string, visiblePrefix: number): string {
  const firstLine = secret.split(/\r?\n|\\n/, 1)[0] ?? '';
  const shown = Math.min(visiblePrefix + 2, Math.floor(secret.length / 4), firstLine.length);
  return `${secret.slice(0, Math.max(0, shown))}…(${secret.length} chars)`;
}
