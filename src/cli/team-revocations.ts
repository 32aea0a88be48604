import type { Revocation } from '../engine/identity/revocation';
import type { OptionTable } from './args';
import type { CliIo } from './io';
import { openTeamStore, teamStoreOptions } from './team-store';

// Revocations and revoked keys reach the other proxies of a team through the store they share:
// the command writes them to Redis itself, so no proxy needs to be running on this machine.

export const teamOptions = teamStoreOptions('every proxy of the team refuses the tokens') satisfies OptionTable;

/** Writes the revocations to the team's store, when --store names one; the exit code (0 when nothing to do). */
export async function shareWithTeam(values: { store?: string; policy?: string }, revocations: readonly Revocation[], io: CliIo): Promise<number> {
  const store = await openTeamStore(values, io);
  if (!store) return 0;
  try {
    for (const r of revocations) await store.revocations.add(r, Date.now());
    return 0;
  } catch (err) {
    io.stderr.write(`tollgate: the data dir holds the revocation, but the team's store did not take it: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await store.close();
  }
}
