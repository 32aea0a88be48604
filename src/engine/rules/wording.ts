import type { CostUnit } from '../policy/model';

// How refusals put amounts and waits into words, the same for every rule.

export function amount(n: number, unit: CostUnit): string {
  if (unit === 'usd') return `$${n.toFixed(n < 1 ? 4 : 2)}`;
  return `${Math.round(n * 100) / 100} ${unit === 'requests' ? 'requests' : 'tokens'}`;
}

export function waitText(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return 'waiting will not help: this request alone is larger than the limit';
  const s = Math.max(1, Math.ceil(ms / 1000));
  if (s < 120) return `it frees up in ${s}s`;
  if (s < 7200) return `it frees up in ${Math.ceil(s / 60)} min`;
  return `it frees up in ${Math.ceil(s / 3600)} h`;
}
