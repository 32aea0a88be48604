import type { Policy } from './policy/model';

// Data classification of a prompt by the bundle's detectors. A label raises what a request costs
// (its weight) and lets rules count sensitive payloads apart.
//
// Every detector runs in time linear in the text, whatever the text: each start position is
// tried against a pattern of bounded length, and the e-mail detector, whose address has no
// natural bound, starts only from an '@' and reads at most the lengths RFC 5321 allows. (An
// unbounded e-mail pattern took 10 s on 'a.' x 60,000.)

export type DetectorName = Policy['classification'][number]['detectors'][number];

type Detector = (text: string) => boolean;

/** RFC 5321: a domain is at most 255 characters. */
const maxDomain = 255;

const cardCandidate = /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g;
// Area 000, 666 and 900-999, group 00 and serial 0000 are never issued.
const ssnPattern = /(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])/;
// Formatted numbers only: a bare run of ten digits is more often an id than a phone number.
const phonePatterns = [
  /(?<![\w+])(?:\+?1[ .-]?)?\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}(?!\d)/,
  /(?<![\w+-])(?:\+?1[ .-])?[2-9]\d{2}[.-][2-9]\d{2}[.-]\d{4}(?![\d-])/,
  /(?<!\w)\+[1-9]\d{0,2}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}[ .-]\d{3,4}(?:[ .-]\d{2,4})?(?!\d)/,
];

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** A character of a domain label: letter, digit or '-'. */
function isLabelChar(c: number): boolean {
  return isLetter(c) || isDigit(c) || c === 45;
}

/** A character of a local part as the detector accepts it: letter, digit or one of `._%+-`. */
function isLocalChar(c: number): boolean {
  return isLabelChar(c) || c === 46 || c === 95 || c === 37 || c === 43;
}

/**
 * Whether a domain starts at `start`: labels of letters, digits and '-' joined by single dots,
 * some dot followed by two letters (the top-level domain, which may go on), within the first
 * 255 characters.
 */
function domainAt(text: string, start: number): boolean {
  const end = Math.min(text.length, start + maxDomain);
  if (start >= end || !isLabelChar(text.charCodeAt(start))) return false;
  for (let i = start + 1; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (i + 2 < end && isLetter(text.charCodeAt(i + 1)) && isLetter(text.charCodeAt(i + 2))) return true;
      // An empty label ends the domain.
      if (i + 1 >= end || !isLabelChar(text.charCodeAt(i + 1))) return false;
    } else if (!isLabelChar(c)) {
      return false;
    }
  }
  return false;
}

/**
 * An address is a local part, '@' and a domain with a top-level domain. Only the character before
 * the '@' decides whether some local part ends there; each domain read stops at the next '@' at
 * the latest, so the text is read about once.
 */
function hasEmail(text: string): boolean {
  for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
    if (at > 0 && isLocalChar(text.charCodeAt(at - 1)) && domainAt(text, at + 1)) return true;
  }
  return false;
}

/** The Luhn sum of the digits in `s` (anything else skipped), how many there are and whether they are all one digit. */
function luhn(s: string): { sum: number; digits: number; oneDigit: boolean } {
  let sum = 0;
  let digits = 0;
  let double = false;
  let oneDigit = true;
  let last = -1;
  for (let i = s.length - 1; i >= 0; i--) {
    let d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) continue;
    if (last !== -1 && d !== last) oneDigit = false;
    last = d;
    digits++;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return { sum, digits, oneDigit };
}

export function luhnValid(digits: string): boolean {
  return luhn(digits).sum % 10 === 0;
}

function hasCard(text: string): boolean {
  cardCandidate.lastIndex = 0;
  for (let m = cardCandidate.exec(text); m; m = cardCandidate.exec(text)) {
    // 13 to 19 digits, separators skipped, not one digit repeated.
    const l = luhn(m[0]);
    if (l.digits >= 13 && l.digits <= 19 && !l.oneDigit && l.sum % 10 === 0) return true;
  }
  return false;
}

export const detectors: Record<DetectorName, Detector> = {
  email: hasEmail,
  'credit-card': hasCard,
  'us-ssn': (t) => ssnPattern.test(t),
  phone: (t) => phonePatterns.some((p) => p.test(t)),
};

/** The detectors a policy's classification uses, each once. */
export function detectorsOf(policy: Policy): DetectorName[] {
  return [...new Set(policy.classification.flatMap((c) => c.detectors))];
}

/** Which of `names` find something in any of the texts. */
export function detect(texts: readonly string[], names: readonly DetectorName[]): DetectorName[] {
  return names.filter((d) => texts.some((t) => detectors[d](t)));
}

export interface Classification {
  readonly labels: readonly string[];
  /** The highest weight among the labels: labels do not compound. */
  readonly weight: number;
}

const none: Classification = { labels: [], weight: 1 };

/**
 * Labels a request from the detectors that found something in its prompt, plus labels the caller
 * declared (a caller may add a label, which only raises cost, but can never remove one a
 * detector found).
 */
export function classifyDetected(policy: Policy, detected: readonly DetectorName[], declared: readonly string[] = []): Classification {
  if (policy.classification.length === 0) return none;
  const labels: string[] = [];
  let weight = 1;
  for (const c of policy.classification) {
    if (declared.includes(c.label) || c.detectors.some((d) => detected.includes(d))) {
      labels.push(c.label);
      weight = Math.max(weight, c.weight);
    }
  }
  return labels.length === 0 ? none : { labels, weight };
}

/** Labels a request from its prompt text, plus labels the caller declared. */
export function classify(policy: Policy, texts: readonly string[], declared: readonly string[] = []): Classification {
  if (policy.classification.length === 0) return none;
  return classifyDetected(policy, detect(texts, detectorsOf(policy)), declared);
}
