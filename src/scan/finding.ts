export type Severity = 'error' | 'warning';

/**
 * One hard-coded secret found in a text. Lines and columns are 1-based and count UTF-16 code
 * units, as editors and SARIF do; offsets are 0-based string indices for `positionAt`.
 * It never holds the secret itself, only a redacted form and a fingerprint.
 */
export interface Finding {
  readonly ruleId: string;
  readonly title: string;
  readonly severity: Severity;
  readonly path: string;
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
  readonly offset: number;
  readonly endOffset: number;
  readonly redacted: string;
  readonly fingerprint: string;
  /** Set when an inline `tollgate-ignore` was present but could not suppress this finding. */
  readonly note?: string;
}
