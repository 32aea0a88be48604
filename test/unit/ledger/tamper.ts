import * as fs from 'node:fs';
import type { AuditRecord } from '../../../src/contracts/audit-records';
import { ledgerPaths, listSegments } from '../../../src/store/ledger/segments';
import type { Signer } from '../../../src/store/ledger/signer';
import { recordBytes } from '../../../src/store/ledger/signer';

/** Reads and rewrites the journal's lines (single segment) to stage tampering. */
export function journalFile(dataDir: string): string {
  return listSegments(ledgerPaths(dataDir).journal)[0].file;
}

export function readJournalLines(dataDir: string): string[] {
  return fs.readFileSync(journalFile(dataDir), 'utf8').split('\n').filter((l) => l.length > 0);
}

export function writeJournalLines(dataDir: string, lines: string[]): void {
  fs.writeFileSync(journalFile(dataDir), lines.map((l) => `${l}\n`).join(''));
}

/** Applies `edit` to the lines of every segment. */
export function rewriteAllSegments(dataDir: string, edit: (lines: string[]) => string[]): void {
  for (const seg of listSegments(ledgerPaths(dataDir).journal)) {
    const lines = fs.readFileSync(seg.file, 'utf8').split('\n').filter((l) => l.length > 0);
    fs.writeFileSync(seg.file, edit(lines).map((l) => `${l}\n`).join(''));
  }
}

/** Signs every record as ledgers did before signing per commit: each over its own canonical bytes. */
export function signEveryRecord(dataDir: string, signer: Signer): void {
  rewriteAllSegments(dataDir, (lines) =>
    lines.map((l) => {
      const r = JSON.parse(l) as AuditRecord;
      return JSON.stringify({ ...r, sig: signer.sign(recordBytes(r)) });
    }),
  );
}
