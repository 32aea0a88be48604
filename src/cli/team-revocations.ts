import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Revocation } from '../engine/identity/revocation';
import { loadPolicy } from '../engine/policy/loader';
import { registeredStyles } from '../providers/registry';
import { referencePolicyPath } from '../store/reference-policy';
import { RedisStore } from '../store/redis/redis-store';
import { createStore } from '../store/store-factory';
import type { OptionTable } from './args';
import type { CliIo } from './io';
import { UsageError } from './io';

// Revocations and revoked keys reach the other proxies of a team through the store they share:
// the command writes them to Redis itself, so no proxy needs to be running on this machine.

export const teamOptions = {
  store: { type: 'string', value: 'URL', description: "the team's store (redis://HOST:PORT), so every proxy of the team refuses the tokens" },
  policy: { type: 'string', value: 'FILE', description: 'with --store: the bundle the proxies serve, whose name is the store namespace (default: the reference bundle)' },
} as const satisfies OptionTable;

/** Writes the revocations to the team's store, when --store names one; the exit code (0 when nothing to do). */
export async function shareWithTeam(values: { store?: string; policy?: string }, revocations: readonly Revocation[], io: CliIo): Promise<number> {
  if (values.store === undefined) {
    if (values.policy !== undefined) throw new UsageError('--policy only names the namespace of --store');
    return 0;
  }
  const file = path.resolve(io.cwd, values.policy ?? referencePolicyPath());
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read policy ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const loaded = loadPolicy(text, Date.now(), registeredStyles());
  if (!loaded.ok) throw new UsageError(`the policy ${file} does not load (tollgate policy check ${file} says why)`);
  const store = await createStore(values.store, loaded.policy, { startupWaitMs: 3000 });
  try {
    if (!(store instanceof RedisStore)) throw new UsageError('--store must be a redis:// URL: a memory store is not shared');
    for (const r of revocations) await store.revocations.add(r, Date.now());
    return 0;
  } catch (err) {
    if (UsageError.is(err)) throw err;
    io.stderr.write(`tollgate: the data dir holds the revocation, but the team's store did not take it: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await store.close();
  }
}
