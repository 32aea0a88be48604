import ignore from 'ignore';
import type { Ignore } from 'ignore';
import { fingerprintPattern } from './fingerprint';

/**
 * `.tollgateignore`: gitignore-style path patterns, plus lines naming one finding by its
 * fingerprint (`rule-id:hash  # reason`), which suppress that finding alone.
 */
export interface TollgateIgnore {
  readonly paths: Ignore;
  readonly fingerprints: ReadonlySet<string>;
}

export function parseTollgateIgnore(content: string): TollgateIgnore {
  const paths = ignore();
  const fingerprints = new Set<string>();
  for (const raw of content.split(/\r?\n/)) {
    const entry = raw.replace(/\s+#.*$/, '').trim();
    if (entry === '' || entry.startsWith('#')) continue;
    if (fingerprintPattern.test(entry)) fingerprints.add(entry);
    else paths.add(entry);
  }
  return { paths, fingerprints };
}

export const emptyTollgateIgnore: TollgateIgnore = { paths: ignore(), fingerprints: new Set() };
