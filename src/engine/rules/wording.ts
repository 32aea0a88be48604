import { counted, dollars, wholeUp } from '../../contracts/wording';
import type { CostUnit } from '../policy/model';

// How refusals put amounts and waits into words, the same for every rule.

/** An amount of a limit's unit: "1 request", "20 requests", "4,096 tokens", "$0.0150". */
export function amount(n: number, unit: CostUnit): string {
  if (unit === 'usd') return dollars(n);
  return counted(wholeUp(n), unit === 'requests' ? 'request' : unit === 'tool_calls' ? 'tool call' : 'token');
}

/** "19 of 20 requests used; this request needs 1 request": where a limit stands and what the call asks. */
export function usage(before: number, limit: number, need: number, unit: CostUnit): string {
  const used = unit === 'usd' ? dollars(before) : String(wholeUp(before));
  return `${used} of ${amount(limit, unit)} used; this request needs ${amount(need, unit)}`;
}

export function waitText(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return 'waiting will not help: this request alone is larger than the limit';
  const s = Math.max(1, Math.ceil(ms / 1000));
  if (s < 120) return `it frees up in ${s}s`;
  if (s < 7200) return `it frees up in ${Math.ceil(s / 60)} min`;
  return `it frees up in ${Math.ceil(s / 3600)} h`;
}
