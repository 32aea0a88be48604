import { generateKeyPairSync } from 'node:crypto';
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

/** Nine levels of nine aliases each: 9^9 values once expanded ("billion laughs"). */
export function aliasBomb(): string {
  const levels = ['  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]', ...'bcdefghi'.split('').map((x, i) => `  ${x}: &${x} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(', ')}]`)];
  return `laughs:\n${levels.join('\n')}\n`;
}

export interface BadEdit {
  readonly name: string;
  readonly text: string;
  /** Where its one error is reported: the first occurrence of this in `text`. */
  readonly at: string;
  readonly message: RegExp;
}

/** Edits of the reference bundle that once took a running proxy down: each must now be refused at its position. */
export function editsThatOnceKilledTheProxy(): BadEdit[] {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
  return [
    { name: 'an issuer with a truncated PEM key', text: bundleWithIssuer(`      algorithms: [RS256]\n${publicKeyField(rsa.split('\n').slice(0, 4).join('\n'))}`), at: '|\n', message: /public_key is not a PEM public key/ },
    { name: 'an issuer with an EC key and no algorithms', text: bundleWithIssuer(publicKeyField(ec)), at: '|\n', message: /an EC P-256 key cannot verify RS256/ },
    { name: 'an alias bomb', text: `${referenceText}${aliasBomb()}`, at: '*a', message: /billion laughs/ },
  ];
}
