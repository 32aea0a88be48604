import { createHash } from 'node:crypto';

/**
 * A stable name for one finding: the rule, the file and a hash of the secret, but not the line,
 * so the fingerprint survives code moving around it. The secret is hashed, never stored.
 */
export function fingerprintOf(ruleId: string, path: string, secret: string): string {
  const digest = createHash('sha256').update(`${ruleId}\0${path}\0${secret}`).digest('hex');
  return `${ruleId}:${digest.slice(0, 20)}`;
}

/** Matches a fingerprint as written by `fingerprintOf`, for `.tollgateignore` entries. */
export const fingerprintPattern = /^[a-z0-9-]+:[0-9a-f]{20}$/;
