import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';

// Token counting and the classification detectors as they were before counting and classifying
// were made linear (commit 576ce5e), kept so bench/engine/count.ts measures both in one run.

const noSpecial = { disallowedSpecial: new Set<string>() };

export function countTextBefore(text: string): number {
  if (text.length === 0) return 0;
  if (text.length > 2_000_000) return Buffer.byteLength(text, 'utf8');
  return countTokens(text, noSpecial);
}

const emailPattern = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/;
const cardCandidate = /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g;
const ssnPattern = /(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])/;
const phonePatterns = [
  /(?<![\w+])(?:\+?1[ .-]?)?\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}(?!\d)/,
  /(?<![\w+-])(?:\+?1[ .-])?[2-9]\d{2}[.-][2-9]\d{2}[.-]\d{4}(?![\d-])/,
  /(?<!\w)\+[1-9]\d{0,2}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}[ .-]\d{3,4}(?:[ .-]\d{2,4})?(?!\d)/,
];

function luhnValid(digits: string): boolean {
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

export const detectorsBefore: Record<'email' | 'credit-card' | 'us-ssn' | 'phone', (text: string) => boolean> = {
  email: (t) => emailPattern.test(t),
  'credit-card': hasCard,
  'us-ssn': (t) => ssnPattern.test(t),
  phone: (t) => phonePatterns.some((p) => p.test(t)),
};
