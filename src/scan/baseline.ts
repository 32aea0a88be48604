import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { Finding } from './finding';
import { ScanError } from './errors';

// The one reader and writer of baseline files, for the command line, the pre-commit hook and the
// editor alike. A baseline that does not parse (a merge left its conflict markers in it, a hand edit
// went wrong) is an error naming the file and line, and is never written over: it holds decisions
// a team made that a fresh file would silently drop.

export interface BaselineEntry {
  readonly fingerprint: string;
  readonly rule: string;
  readonly file: string;
  readonly redacted: string;
}

/** A baseline names findings a team has accepted, by fingerprint; they are not reported again. */
export interface Baseline {
  readonly version: 1;
  readonly findings: readonly BaselineEntry[];
}

/**
 * The baseline a repository carries at its root. The editor's "add to baseline" writes it, and
 * every scan (the pre-commit hook's included) honours it, so one accepted finding is accepted everywhere.
 */
export const DEFAULT_BASELINE_FILE = '.tollgate-baseline.json';

const emptyBaseline: Baseline = { version: 1, findings: [] };

function sortedEntries(entries: Iterable<BaselineEntry>): BaselineEntry[] {
  return [...entries].sort((a, b) => a.file.localeCompare(b.file) || a.fingerprint.localeCompare(b.fingerprint));
}

export function baselineOf(findings: readonly Finding[]): Baseline {
  const unique = new Map(findings.map((f) => [f.fingerprint, { fingerprint: f.fingerprint, rule: f.ruleId, file: f.path, redacted: f.redacted }]));
  return { version: 1, findings: sortedEntries(unique.values()) };
}

export function fingerprintsOf(baseline: Baseline): Set<string> {
  return new Set(baseline.findings.map((f) => f.fingerprint));
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * Where JSON.parse gave up, as a line of `text`. Its message gives a position for some errors only;
 * for the others the YAML parser (JSON is YAML) says where the text stops making sense.
 */
function failedLine(text: string, err: unknown): number | undefined {
  const message = err instanceof Error ? err.message : '';
  const lineCol = /\(line (\d+) column \d+\)/.exec(message);
  if (lineCol) return Number(lineCol[1]);
  const position = /at position (\d+)/.exec(message);
  if (position) return lineOf(text, Number(position[1]));
  return parseDocument(text).errors[0]?.linePos?.[0].line;
}

/** A baseline's text, checked; `file` names it in errors, with the line where it went wrong. */
export function parseBaseline(text: string, file: string): Baseline {
  const conflict = /^(<{7}|={7}|>{7})(?: |$)/m.exec(text);
  if (conflict) throw new ScanError('baseline-unreadable', `baseline ${file}:${lineOf(text, conflict.index)}: an unresolved merge conflict (resolve it, then scan again)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const line = failedLine(text, err);
    throw new ScanError('baseline-unreadable', `baseline ${file}${line !== undefined ? `:${line}` : ''}: not valid JSON`);
  }
  const findings = (parsed as { findings?: unknown } | null)?.findings;
  if (!Array.isArray(findings)) throw new ScanError('baseline-unreadable', `baseline ${file}: no "findings" array`);
  const entries = findings.filter((f: Partial<BaselineEntry> | null): f is BaselineEntry => typeof f?.fingerprint === 'string');
  return { version: 1, findings: entries };
}

/** The fingerprints of a baseline's text; `file` names it in errors. */
export function parseBaselineFingerprints(text: string, file: string): Set<string> {
  return fingerprintsOf(parseBaseline(text, file));
}

function missing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

function unreadable(file: string, err: unknown): ScanError {
  return new ScanError('baseline-unreadable', `baseline ${file}: ${missing(err) ? 'not found (create it with --write-baseline)' : 'unreadable'}`);
}

/** The baseline in `file`, or undefined when there is none. */
export async function readBaseline(file: string): Promise<Baseline | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (missing(err)) return undefined;
    throw unreadable(file, err);
  }
  return parseBaseline(text, file);
}

/** readBaseline for the editor's live scan, which runs on each keystroke's pause and cannot wait. */
export function readBaselineSync(file: string): Baseline | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (missing(err)) return undefined;
    throw unreadable(file, err);
  }
  return parseBaseline(text, file);
}

/** The fingerprints of a baseline a command was pointed at: a missing one is an error too. */
export async function readBaselineFingerprints(file: string): Promise<Set<string>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw unreadable(file, err);
  }
  return parseBaselineFingerprints(text, file);
}

async function write(file: string, baseline: Baseline): Promise<void> {
  await writeFile(file, `${JSON.stringify(baseline, null, 2)}\n`);
}

/** Writes the baseline of a scan's findings, replacing the file (`tollgate scan --write-baseline`). */
export async function writeBaseline(file: string, findings: readonly Finding[]): Promise<void> {
  await write(file, baselineOf(findings));
}

/**
 * Adds one accepted finding to the baseline in `file`, starting one when there is none. Returns
 * false when it was there already. Throws, and writes nothing, when the file does not parse.
 */
export async function addToBaseline(file: string, entry: BaselineEntry): Promise<boolean> {
  const baseline = (await readBaseline(file)) ?? emptyBaseline;
  if (baseline.findings.some((f) => f.fingerprint === entry.fingerprint)) return false;
  await write(file, { version: 1, findings: sortedEntries([...baseline.findings, entry]) });
  return true;
}
