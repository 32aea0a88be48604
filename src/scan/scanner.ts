import type { Finding } from './finding';
import type { SecretRule } from './rules';
import { isLiteralAssignedSecret, secretRules } from './rules';
import { shannonEntropy } from './entropy';
import { isPlaceholder } from './placeholders';
import { redactSecret } from './redact';
import { fingerprintOf } from './fingerprint';
import { LineIndex } from './line-index';
import type { InlineIgnore } from './inline-ignore';
import { inlineIgnoreFor } from './inline-ignore';
import { slashesBound } from './url-path';
import type { DerivedText } from './derived-text';
import { notebookText } from './notebook';
import { blockScalarText } from './yaml-block-scalars';

export interface ScanTextOptions {
  /** Repository-relative path with forward slashes; part of each fingerprint. */
  readonly path?: string;
  readonly rules?: readonly SecretRule[];
}

interface Candidate {
  readonly rule: SecretRule;
  /** Range in the file's text. */
  readonly start: number;
  readonly end: number;
  readonly secret: string;
  /** Set when found in a derived text: where, and the offset there. */
  readonly derived?: { readonly text: DerivedText; readonly start: number };
}

const dataUri = /data:[a-z]+\/[\w.+-]+;base64,[A-Za-z0-9+/=\s\\]*/g;

function dataUriRanges(text: string, lower: string): Array<[number, number]> {
  if (!lower.includes(';base64,')) return [];
  const ranges: Array<[number, number]> = [];
  dataUri.lastIndex = 0;
  for (let m = dataUri.exec(text); m; m = dataUri.exec(text)) ranges.push([m.index, m.index + m[0].length]);
  return ranges;
}

function candidatesOf(rule: SecretRule, text: string, path: string | undefined, skipped: Array<[number, number]>): Candidate[] {
  const out: Candidate[] = [];
  // Safe to share the rule's RegExp: a scan runs to completion synchronously.
  const pattern = rule.pattern;
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    if (m[0].length === 0) {
      pattern.lastIndex++;
      continue;
    }
    const span = m.indices?.groups?.secret ?? m.indices?.[0];
    if (!span) continue;
    const [start, end] = span;
    if (!slashesBound(text, start, end)) {
      // Part of a longer run; a key may still start further in.
      pattern.lastIndex = m.index + 1;
      continue;
    }
    const secret = text.slice(start, end);
    if (skipped.some(([a, b]) => start >= a && end <= b)) continue;
    if (isPlaceholder(secret)) continue;
    if (rule.minEntropy > 0 && shannonEntropy(secret.slice(rule.visiblePrefix(secret))) < rule.minEntropy) continue;
    if (rule.accept && !rule.accept(secret, m, text)) continue;
    if (rule.assignment) {
      const quoted = /["'`]/.test(text[start - 1] ?? '');
      if (!isLiteralAssignedSecret(secret, quoted, path)) continue;
    }
    out.push({ rule, start, end, secret });
  }
  return out;
}

function candidatesIn(text: string, rules: readonly SecretRule[], path: string | undefined): Candidate[] {
  const lower = text.toLowerCase();
  const skipped = dataUriRanges(text, lower);
  const candidates: Candidate[] = [];
  for (const rule of rules) {
    if (!rule.keywords.some((k) => lower.includes(k))) continue;
    candidates.push(...candidatesOf(rule, text, path, skipped));
  }
  return candidates;
}

// What a file holds in another form than its own text: a notebook's cells, YAML block scalars.
function derivedTextOf(text: string, path: string | undefined): DerivedText | undefined {
  if (path === undefined) return undefined;
  if (/\.ipynb$/i.test(path)) return notebookText(text);
  if (/\.ya?ml$/i.test(path)) return blockScalarText(text);
  return undefined;
}

// Where a specific rule and a broad one see the same characters, the specific one names it; the
// same key seen in the file and in a derived text is reported once, as the derived text reads.
function withoutOverlaps(candidates: Candidate[]): Candidate[] {
  const byStrength = [...candidates].sort((a, b) => b.rule.specificity - a.rule.specificity || (b.end - b.start) - (a.end - a.start) || (a.derived ? 0 : 1) - (b.derived ? 0 : 1));
  const kept: Candidate[] = [];
  for (const c of byStrength) {
    if (!kept.some((k) => c.start < k.end && k.start < c.end)) kept.push(c);
  }
  return kept.sort((a, b) => a.start - b.start);
}

function ignoreAt(text: string, lines: LineIndex, offset: number, ruleId: string): InlineIgnore {
  const line = lines.lineOf(offset);
  const lineText = (n: number): string => text.slice(lines.lineStart(n), lines.lineEnd(text, n));
  return inlineIgnoreFor({ same: lineText(line), above: line > 1 ? lineText(line - 1) : undefined }, ruleId);
}

/**
 * Finds hard-coded secrets in one text. Pure and synchronous: the editor calls it on each edit
 * and the command line in its workers. Findings carry ranges, never the secret.
 */
export function scanText(text: string, options: ScanTextOptions = {}): Finding[] {
  const rules = options.rules ?? secretRules;
  const candidates = candidatesIn(text, rules, options.path);
  const derived = derivedTextOf(text, options.path);
  if (derived) {
    for (const c of candidatesIn(derived.text, rules, options.path)) {
      const [start, end] = derived.fileRange(c.start, c.end);
      candidates.push({ ...c, start, end, derived: { text: derived, start: c.start } });
    }
  }
  if (candidates.length === 0) return [];
  const lines = new LineIndex(text);
  const path = options.path ?? '';
  const findings: Finding[] = [];
  for (const c of withoutOverlaps(candidates)) {
    const from = lines.position(c.start);
    const to = lines.position(c.end);
    const ignore = c.derived?.text.ownLines
      ? ignoreAt(c.derived.text.text, c.derived.text.lines, c.derived.start, c.rule.id)
      : ignoreAt(text, lines, c.start, c.rule.id);
    if (ignore.kind === 'suppress') continue;
    findings.push({
      ruleId: c.rule.id,
      title: c.rule.title,
      severity: c.rule.severity,
      path,
      line: from.line,
      column: from.column,
      endLine: to.line,
      endColumn: to.column,
      offset: c.start,
      endOffset: c.end,
      redacted: redactSecret(c.secret, c.rule.visiblePrefix(c.secret)),
      fingerprint: fingerprintOf(c.rule.id, path, c.secret),
      ...(ignore.kind === 'missing-reason' ? { note: 'tollgate-ignore needs a reason (`tollgate-ignore: why`), so it was not applied' } : {}),
    });
  }
  return findings;
}
