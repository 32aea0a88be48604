// `tollgate-ignore: reason` or `tollgate-ignore rule-id: reason`, in any comment syntax.
const directive = /tollgate-ignore(?:[ \t]+(?<rule>[a-z0-9-]+))?(?:[ \t]*:[ \t]*(?<reason>[^\n]*?))?[ \t]*(?:\*\/|-->|#\}|%>)?[ \t]*$/;

export type InlineIgnore =
  | { readonly kind: 'none' }
  | { readonly kind: 'suppress'; readonly reason: string }
  | { readonly kind: 'missing-reason' };

/**
 * Reads an inline ignore for a finding: on its line, or on the line above. A reason is required;
 * an ignore without one (or one that does not parse) suppresses nothing and is reported.
 */
export function inlineIgnoreFor(lines: { same: string; above: string | undefined }, ruleId: string): InlineIgnore {
  for (const text of [lines.same, lines.above]) {
    if (text === undefined || !text.includes('tollgate-ignore')) continue;
    const m = directive.exec(text);
    if (!m) return { kind: 'missing-reason' };
    const rule = m.groups?.rule;
    if (rule !== undefined && rule !== ruleId) continue;
    const reason = (m.groups?.reason ?? '').trim();
    return reason.length >= 3 ? { kind: 'suppress', reason } : { kind: 'missing-reason' };
  }
  return { kind: 'none' };
}
