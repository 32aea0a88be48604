import { readFile, writeFile } from 'node:fs/promises';
import type { Finding } from './finding';
import { ScanError } from './errors';

/** A baseline names findings a team has accepted, by fingerprint; they are not reported again. */
export interface Baseline {
  readonly version: 1;
  readonly findings: ReadonlyArray<{ fingerprint: string; rule: string; file: string; redacted: string }>;
}

export function baselineOf(findings: readonly Finding[]): Baseline {
  const unique = new Map(findings.map((f) => [f.fingerprint, { fingerprint: f.fingerprint, rule: f.ruleId, file: f.path, redacted: f.redacted }]));
  return { version: 1, findings: [...unique.values()].sort((a, b) => a.file.localeCompare(b.file) || a.fingerprint.localeCompare(b.fingerprint)) };
}

export async function writeBaseline(file: string, findings: readonly Finding[]): Promise<void> {
  await writeFile(file, `${JSON.stringify(baselineOf(findings), null, 2)}\n`);
}

export async function readBaselineFingerprints(file: string): Promise<Set<string>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : 'not valid JSON';
    throw new ScanError('baseline-unreadable', `baseline ${file}: ${why} (create it with --write-baseline)`);
  }
  const findings = (parsed as { findings?: unknown }).findings;
  if (!Array.isArray(findings)) throw new ScanError('baseline-unreadable', `baseline ${file}: no "findings" array`);
  return new Set(findings.map((f: { fingerprint?: unknown }) => f.fingerprint).filter((f): f is string => typeof f === 'string'));
}
