import type { ScanReport } from '../report';

/** `file:line:col: severity rule-id redacted (title)`, one finding per line, for people and editors. */
export function formatText(report: ScanReport): string {
  return report.findings
    .map((f) => `${f.path}:${f.line}:${f.column}: ${f.severity} ${f.ruleId} ${f.redacted} (${f.title})${f.note ? ` [${f.note}]` : ''}\n`)
    .join('');
}
