import { isThreadOf } from '../../workers/thread';

// Kept apart from worker.ts so the command line can tell it was started as the ledger's worker
// without loading the ledger for every other command.
export const ledgerWorkerMarker = 'tollgate-ledger-worker';

/** True inside a thread the ledger started. */
export function isLedgerWorkerThread(): boolean {
  return isThreadOf(ledgerWorkerMarker);
}

export const ledgerIndexMarker = 'tollgate-ledger-index';

/** True inside the query index's thread, which the ledger's worker starts. */
export function isLedgerIndexThread(): boolean {
  return isThreadOf(ledgerIndexMarker);
}
