import type { Policy } from './policy/model';

// Data classification of a prompt by the bundle's detectors. A label raises what a request costs
// (its weight) and lets rules count sensitive payloads apart.

type Detector = (text: string) => boolean;

const emailPattern = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/;
const cardCandidate = /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g;
// Area 000, 666 and 900-999, group 00 and serial 0000 are never issued.
const ssnPattern = /(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])/;
// Formatted numbers only: a bare run of ten digits is more often an id than a phone number.
const phonePatterns = [
  /(?<![\w+])(?:\+?1[ .-]?)?\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}(?!\d)/,
  /(?<![\w+-])(?:\+?1[ .-])?[2-9]\d{2}[.-][2-9]\d{2}[.-]\d{4}(?![\d-])/,
  /(?<!\w)\+[1-9]\d{0,2}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}[ .-]\d{3,4}(?:[ .-]\d{2,4})?(?!\d)/,
];

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

function hasCard(text: string): boolean {
  cardCandidate.lastIndex = 0;
  for (let m = cardCandidate.exec(text); m; m = cardCandidate.exec(text)) {
    const digits = m[0].replace(/[ -]/g, '');
    if (digits.length >= 13 && digits.length <= 19 && !/^(\d)\1+$/.test(digits) && luhnValid(digits)) return true;
  }
  return false;
}

export const detectors: Record<'email' | 'credit-card' | 'us-ssn' | 'phone', Detector> = {
  email: (t) => emailPattern.test(t),
  'credit-card': hasCard,
  'us-ssn': (t) => ssnPattern.test(t),
  phone: (t) => phonePatterns.some((p) => p.test(t)),
};

export interface Classification {
  readonly labels: readonly string[];
  /** The highest weight among the labels: labels do not compound. */
  readonly weight: number;
}

const none: Classification = { labels: [], weight: 1 };

/**
 * Labels a request from its prompt text, plus labels the caller declared (a caller may add a
 * label, which only raises cost, but can never remove one a detector found).
 */
export function classify(policy: Policy, texts: readonly string[], declared: readonly string[] = []): Classification {
  if (policy.classification.length === 0) return none;
  const labels: string[] = [];
  let weight = 1;
  for (const c of policy.classification) {
    const hit = declared.includes(c.label) || c.detectors.some((d) => texts.some((t) => detectors[d](t)));
    if (hit) {
      labels.push(c.label);
      weight = Math.max(weight, c.weight);
    }
  }
  return labels.length === 0 ? none : { labels, weight };
}
