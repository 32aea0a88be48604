import { readFile, writeFile } from 'node:fs/promises';
import type { Finding } from './finding';
import { ScanError } from './errors';

/** A baseline names findings a team has accepted, by fingerprint; they are not reported again. */
export interface Baseline {
  readonly version: 1;
  readonly findings: ReadonlyArray<{ fingerprint: string; rule: string; file: string; redacted: string }>;
}

/**
 * The baseline a repository carries at its root. The editor's "add to baseline" writes it, and
 * every scan (the pre-commit hook's included) honours it, so one accepted finding is accepted everywhere.
 */
export const DEFAULT_BASELINE_FILE = '.tollgate-baseline.json';

export function baselineOf(findings: readonly Finding[]): Baseline {
  const unique = new Map(findings.map((f) => [f.fingerprint, { fingerprint: f.fingerprint, rule: f.ruleId, file: f.path, redacted: f.redacted }]));
  return { version: 1, findings: [...unique.values()].sort((a, b) => a.file.localeCompare(b.file) || a.fingerprint.localeCompare(b.fingerprint)) };
}

export async function writeBaseline(file: string, findings: readonly Finding[]): Promise<void> {
  await writeFile(file, `${JSON.stringify(baselineOf(findings), null, 2)}\n`);
}

export async function readBaselineFingerprints(file: string): Promise<Set<string>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : 'unreadable';
    throw new ScanError('baseline-unreadable', `baseline ${file}: ${why} (create it with --write-baseline)`);
  }
  return parseBaselineFingerprints(text, file);
}

/** The fingerprints of a baseline's text; `file` names it in errors. */
export function parseBaselineFingerprints(text: string, file: string): Set<string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ScanError('baseline-unreadable', `baseline ${file}: not valid JSON`);
  }
  const findings = (parsed as { findings?: unknown }).findings;
  if (!Array.isArray(findings)) throw new ScanError('baseline-unreadable', `baseline ${file}: no "findings" array`);
  return new Set(findings.map((f: { fingerprint?: unknown }) => f.fingerprint).filter((f): f is string => typeof f === 'string'));
}
