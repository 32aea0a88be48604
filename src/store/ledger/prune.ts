import * as fs from 'node:fs';
import { fsyncDir } from './io';
import type { AuditRecord, CheckpointBody } from '../../contracts/audit-records';
import { listSegments, parseLine, readLines, scanJournal } from './segments';
import { LedgerError } from './errors';

/*
 * Retention without breaking the chain. Records older than the cut-off are deleted, but first a
 * checkpoint record is appended at the end of the chain naming the last pruned record's seq and
 * hash. The first record kept still links (prev) to that hash, and the checkpoint's signature
 * vouches for it, so verify can start mid-chain. The order (checkpoint durable first, then delete,
 * each segment replaced by an atomic rename) means a crash at any point leaves a verifiable
 * ledger: at worst the checkpoint stands for records that are still there.
 */

export interface PruneResult {
  removed: number;
  /** The last pruned seq (0 when nothing was pruned). */
  lastSeq: number;
  /** The checkpoint record's id, or null when nothing was older than the cut-off. */
  checkpoint: string | null;
}

export async function pruneJournal(
  journalDir: string,
  cutoff: string,
  ackedSeq: number,
  appendCheckpoint: (entry: CheckpointBody) => Promise<string>,
): Promise<PruneResult> {
  let firstSeq: number | null = null;
  let last: AuditRecord | null = null;
  for await (const line of scanJournal(journalDir)) {
    const r = line.record;
    if (!r) throw new LedgerError('corrupt', `${line.segment.file} at byte ${line.offset}: ${line.problem ?? 'unreadable'}; run tollgate audit verify before pruning`);
    if (r.seq > ackedSeq || r.time >= cutoff) break;
    firstSeq ??= r.seq;
    last = r;
  }
  if (!last || firstSeq === null) return { removed: 0, lastSeq: 0, checkpoint: null };
  const entry: CheckpointBody = {
    kind: 'checkpoint',
    pruned: { before: cutoff, last_seq: last.seq, last_hash: last.hash, last_time: last.time, count: last.seq - firstSeq + 1 },
  };
  const checkpointId = await appendCheckpoint(entry);
  // The active (last) segment holds only the checkpoint and newer records: the ledger rolled first.
  for (const seg of listSegments(journalDir).slice(0, -1)) {
    const tmp = `${seg.file}.prune.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    let dropped = 0;
    let kept = 0;
    try {
      for await (const raw of readLines(seg.file)) {
        const r = parseLine(raw, seg).record;
        if (r && r.seq <= entry.pruned.last_seq) {
          dropped++;
        } else {
          fs.writeSync(fd, `${raw.text}\n`);
          kept++;
        }
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (dropped === 0) {
      fs.rmSync(tmp); // this and every later segment are newer than the cut-off
      break;
    }
    if (kept === 0) {
      fs.rmSync(tmp);
      fs.rmSync(seg.file);
    } else {
      fs.renameSync(tmp, seg.file); // same name: a name is only a lower bound of its seqs
      break;
    }
  }
  fsyncDir(journalDir);
  return { removed: entry.pruned.count, lastSeq: last.seq, checkpoint: checkpointId };
}
