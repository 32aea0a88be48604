import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadPolicy } from '../engine/policy/loader';
import { registeredStyles } from '../providers/registry';
import { referencePolicyPath } from '../store/reference-policy';
import { RedisStore } from '../store/redis/redis-store';
import { createStore } from '../store/store-factory';
import type { OptionTable } from './args';
import type { CliIo } from './io';
import { UsageError } from './io';

// The commands that act on a whole team (revoke, resume, list tokens) reach its proxies through
// the store they share: the command opens the team's Redis itself, so no proxy needs to be running
// on this machine. The namespace is the bundle's name, as `tollgate serve --store` takes it.

/** --store and --policy, with what --store does for this command. */
export function teamStoreOptions(what: string): { store: { type: 'string'; value: string; description: string }; policy: { type: 'string'; value: string; description: string } } {
  return {
    store: { type: 'string', value: 'URL', description: `the team's store (redis://HOST:PORT), so ${what}` },
    policy: { type: 'string', value: 'FILE', description: 'with --store: the bundle the proxies serve, whose name is the store namespace (default: the reference bundle)' },
  } satisfies OptionTable;
}

/** The team's Redis store that --store names, or undefined without --store; the caller closes it. */
export async function openTeamStore(values: { store?: string; policy?: string }, io: CliIo, log?: (line: string) => void): Promise<RedisStore | undefined> {
  if (values.store === undefined) {
    if (values.policy !== undefined) throw new UsageError('--policy only names the namespace of --store');
    return undefined;
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
  const store = await createStore(values.store, loaded.policy, { startupWaitMs: 3000, ...(log ? { log } : {}) }).catch((err: unknown) => {
    throw new UsageError(`--store: ${(err as Error).message}`);
  });
  if (!(store instanceof RedisStore)) {
    await store.close();
    throw new UsageError('--store must be a redis:// URL: a memory store is not shared');
  }
  return store;
}
