import type { Finding } from './finding';
import type { SkipReason } from './content';
import { counted } from '../contracts/wording';

/** What a scan did: the findings to report and an account of what was read and skipped. */
export interface ScanReport {
  readonly findings: readonly Finding[];
  readonly filesScanned: number;
  readonly bytesScanned: number;
  readonly skipped: Readonly<Record<SkipReason, number>>;
  /** Findings not reported because a baseline or `.tollgateignore` already knows them. */
  readonly suppressed: number;
  readonly errors: readonly string[];
  /** The directory paths are relative to (repository top level, or the working directory). */
  readonly root: string;
  readonly staged: boolean;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** One line saying how much was scanned, so a scan that read nothing never looks like a pass. */
export function summaryLine(report: ScanReport): string {
  const skipped = Object.entries(report.skipped).filter(([, n]) => n > 0).map(([why, n]) => `${n} ${why}`);
  const parts = [
    counted(report.findings.length, 'finding'),
    `scanned ${counted(report.filesScanned, report.staged ? 'staged file' : 'file')} (${formatBytes(report.bytesScanned)})`,
  ];
  if (skipped.length > 0) parts.push(`skipped ${skipped.join(', ')}`);
  if (report.suppressed > 0) parts.push(`${report.suppressed} known (baseline or .tollgateignore)`);
  if (report.errors.length > 0) parts.push(counted(report.errors.length, 'error'));
  return `tollgate scan: ${parts.join('; ')}`;
}
