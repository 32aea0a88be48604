import type { ScanReport } from '../report';

/** The JSON report: a stable contract for scripts, one object per finding plus the scan's account. */
export function formatJson(report: ScanReport): string {
  const findings = report.findings.map((f) => ({
    rule: f.ruleId,
    title: f.title,
    severity: f.severity,
    file: f.path,
    line: f.line,
    column: f.column,
    end: { line: f.endLine, column: f.endColumn },
    match: f.redacted,
    fingerprint: f.fingerprint,
    ...(f.note ? { note: f.note } : {}),
  }));
  const summary = {
    filesScanned: report.filesScanned,
    bytesScanned: report.bytesScanned,
    skipped: report.skipped,
    suppressed: report.suppressed,
    errors: report.errors,
    staged: report.staged,
  };
  return `${JSON.stringify({ version: 1, findings, summary }, null, 2)}\n`;
}
