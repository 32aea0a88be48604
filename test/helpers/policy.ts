import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadPolicy } from '../../src/engine/policy/loader';
import type { Policy } from '../../src/engine/policy/model';

export const referencePath = path.join(__dirname, '..', '..', 'policies', 'reference.yaml');
export const referenceText = readFileSync(referencePath, 'utf8');

/** A fixed instant inside the reference exception's validity (it expires 2027-06-30). */
export const NOW = Date.parse('2026-11-23T12:00:00Z');

export function policyFrom(text: string, now = NOW): Policy {
  const r = loadPolicy(text, now);
  if (!r.ok) throw new Error(`policy did not load:\n${r.errors.map((e) => `${e.position.line}:${e.position.column} ${e.message}`).join('\n')}`);
  return r.policy;
}

export function referencePolicy(): Policy {
  return policyFrom(referenceText);
}

/** 1-based line and column of the first occurrence of `needle` in `text` (at `offset` chars into it). */
export function positionOf(text: string, needle: string, offset = 0): { line: number; column: number } {
  const at = text.indexOf(needle);
  if (at < 0) throw new Error(`'${needle}' not in text`);
  const before = text.slice(0, at + offset);
  const line = before.split('\n').length;
  return { line, column: at + offset - before.lastIndexOf('\n') };
}

/** The reference bundle with one identity provider whose entry ends with `fields` (lines indented 6 spaces). */
export function bundleWithIssuer(fields: string, issuer = 'https://idp.acme.dev'): string {
  return referenceText.replace('  required: true\n', `  required: true\n  issuers:\n    - issuer: ${issuer}\n      audience: tollgate\n${fields}`);
}

/** A PEM public key as a YAML block scalar under `public_key:` in bundleWithIssuer. */
export function publicKeyField(pem: string): string {
  return `      public_key: |\n${pem.trim().split('\n').map((line) => `        ${line}\n`).join('')}`;
}
