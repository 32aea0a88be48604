import type { IdentityChange } from './diff';
import type { PolicyReport, Totals } from './replay';
import type { SimulationReport } from './simulate';
import { counted } from '../contracts/wording';
import { divergenceText } from '../engine/divergence/suspension';

// The two renderings of a simulation: a table for people and the documented JSON for tools.

export function formatJson(report: SimulationReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

function usd(n: number): string {
  return `$${n.toFixed(n !== 0 && Math.abs(n) < 1 ? 4 : 2)}`;
}

function byRule(counts: Record<string, number>): string {
  return Object.entries(counts).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([rule, n]) => `${rule} ${n}`).join(', ');
}

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
}

function table(r: PolicyReport): string[] {
  const head = ['identity', 'requests', 'allowed', 'downgraded', 'refused', 'cost', 'first refusal'];
  const rows = r.identities.map((i) => [
    i.user, String(i.requests), String(i.allowed), String(i.downgraded), String(i.refused), usd(i.usd),
    i.first_refusal ? `${i.first_refusal.time} ${i.first_refusal.rule} (line ${i.first_refusal.line})` : '-',
  ]);
  const t: Totals = r.totals;
  rows.push(['total', String(t.requests), String(t.allowed), String(t.downgraded), String(t.refused), usd(t.usd), '']);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  widths[widths.length - 1] = 0;
  const lines = [pad(head, widths)];
  rows.forEach((row, n) => {
    const cells = row.slice();
    // The last column is left-aligned free text.
    const last = cells.pop()!;
    lines.push(`${pad(cells, widths.slice(0, -1))}  ${last}`.trimEnd());
    const who = r.identities[n];
    if (who && who.refused > 0) lines.push(`  refused by ${byRule(who.refused_by_rule)}`);
    if (who && Object.keys(who.tools_stripped).length > 0) lines.push(`  tools stripped: ${byRule(who.tools_stripped)}`);
    if (who && Object.keys(who.mcp_refused).length > 0) lines.push(`  MCP tool calls refused: ${byRule(who.mcp_refused)} (of ${who.mcp_calls})`);
  });
  if (t.refused > 0) lines.push(`  refused in total by ${byRule(t.refused_by_rule)}`);
  for (const s of r.suspensions) {
    lines.push(`  suspended ${s.key} at ${s.time} (line ${s.line}) by ${divergenceText(s)}`);
  }
  return lines;
}

function change(c: IdentityChange): string {
  const parts: string[] = [];
  if (c.newly_refused) parts.push(`${c.newly_refused} newly refused from ${c.from} (${byRule(c.newly_refused_by_rule)})`);
  if (c.no_longer_refused) parts.push(`${c.no_longer_refused} no longer refused`);
  if (c.newly_downgraded) parts.push(`${c.newly_downgraded} newly downgraded`);
  parts.push(`cost ${usd(c.usd_baseline)} -> ${usd(c.usd)}`);
  return `  ${c.user}: ${parts.join('; ')}`;
}

export function formatText(report: SimulationReport): string {
  const t = report.traffic;
  const lines: string[] = [];
  lines.push(`traffic: ${counted(t.requests, 'request')}${t.from ? ` from ${t.from} to ${t.to}` : ''}${t.file ? ` (${t.file})` : ''}`);
  lines.push('', `policy ${report.policy.policy.name} (${report.policy.policy.hash.slice(0, 12)})`, ...table(report.policy));
  if (report.baseline) {
    lines.push('', `baseline ${report.baseline.policy.name} (${report.baseline.policy.hash.slice(0, 12)})`, ...table(report.baseline));
    lines.push('', 'changes against the baseline:');
    const changes = report.changes ?? [];
    if (changes.length === 0) lines.push('  none: every request has the same outcome and cost');
    else lines.push(...changes.map(change));
  }
  return `${lines.join('\n')}\n`;
}
