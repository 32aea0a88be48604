import { pathToFileURL } from 'node:url';
import type { ScanReport } from '../report';
import type { SecretRule } from '../rules';
import { secretRules } from '../rules';

const toolVersion = '0.1.0';

function ruleName(id: string): string {
  return id.split('-').map((w) => (w[0] ?? '').toUpperCase() + w.slice(1)).join('');
}

// GitHub code scanning ranks alerts by this score (0-10); a leaked key is high or critical.
function securitySeverity(rule: SecretRule): string {
  return rule.severity === 'error' ? '8.9' : '6.5';
}

function artifactUri(relativePath: string): string {
  return relativePath.split('/').map(encodeURIComponent).join('/');
}

/**
 * SARIF 2.1.0 for GitHub code scanning: relative URIs under %SRCROOT%, every rule described,
 * and a partial fingerprint so an alert keeps its identity when the line moves.
 */
export function formatSarif(report: ScanReport, version: string = toolVersion): string {
  const rules = secretRules.map((rule) => ({
    id: rule.id,
    name: ruleName(rule.id),
    shortDescription: { text: rule.title },
    fullDescription: { text: rule.description },
    help: {
      text: `${rule.description} Remove it from the code and rotate it; read it from the environment or a secret store. If it is a false positive, add \`tollgate-ignore: reason\` on the line, or its fingerprint to .tollgateignore.`,
    },
    defaultConfiguration: { level: rule.severity },
    properties: { tags: ['security', 'secret', 'external/cwe/cwe-798'], precision: rule.specificity >= 5 ? 'high' : 'medium', 'security-severity': securitySeverity(rule) },
  }));
  const index = new Map(secretRules.map((r, i) => [r.id, i]));
  const results = report.findings.map((f) => ({
    ruleId: f.ruleId,
    ruleIndex: index.get(f.ruleId) ?? 0,
    level: f.severity,
    message: { text: `${f.title}: ${f.redacted}${f.note ? ` (${f.note})` : ''}` },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: artifactUri(f.path), uriBaseId: '%SRCROOT%' },
          region: { startLine: f.line, startColumn: f.column, endLine: f.endLine, endColumn: f.endColumn },
        },
      },
    ],
    partialFingerprints: { 'tollgateFingerprint/v1': f.fingerprint },
  }));
  const rootUri = pathToFileURL(report.root).href.replace(/\/?$/, '/');
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'tollgate', informationUri: 'https://github.com/tollgate-dev/tollgate', version, semanticVersion: version, rules } },
        originalUriBaseIds: { '%SRCROOT%': { uri: rootUri } },
        columnKind: 'utf16CodeUnits',
        results,
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
