import type { Policy } from '../engine/policy/model';
import type { AccumulatorStore } from '../engine/store';
import { MemoryStore } from './memory-store';
import { createScriptConnection, parseRedisSpec } from './redis/connection';
import { StoreError } from './redis/errors';
import { RedisStore } from './redis/redis-store';
import type { RedisStoreOptions } from './redis/redis-store';

export type ClosableStore = AccumulatorStore & { close(): Promise<void> };

export interface StoreFactoryOptions {
  /** Where store events go (connection lost, failing open, back): a line each, no secrets. */
  readonly log?: (line: string) => void;
  /** How long to wait for the first connection before starting anyway (then failing closed or open). */
  readonly startupWaitMs?: number;
  readonly commandTimeoutMs?: number;
  readonly holdTtlMs?: number;
  /** For tests and tools that replay simulated time; production uses the server's clock. */
  readonly clock?: RedisStoreOptions['clock'];
}

/** The in-process store, with the close() every store offers. */
class ClosableMemoryStore extends MemoryStore {
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Builds the accumulator store `tollgate serve --store SPEC` asks for: `memory` (the default,
 * also when SPEC is undefined) or a Redis URL (redis://, rediss://, redis+cluster://,
 * rediss+cluster://; see parseRedisSpec). A Redis store's namespace is the URL's `?namespace=`
 * or else the bundle's name, and it fails closed or open as the bundle's `store.on_unavailable` says.
 * A Redis that is down at start is not fatal: the store starts in its outage mode and reconnects.
 */
export async function createStore(spec: string | undefined, policy: Policy, options: StoreFactoryOptions = {}): Promise<ClosableStore> {
  if (spec === undefined || spec === '' || spec === 'memory') return new ClosableMemoryStore();
  if (!/^rediss?(\+cluster)?:\/\//.test(spec)) throw new StoreError('config', `unknown store '${spec.replace(/\/\/[^@/]*@/, '//***@')}': use memory or a redis:// URL`);
  const target = parseRedisSpec(spec);
  let lastLogged = '';
  const connection = createScriptConnection(target, {
    commandTimeoutMs: options.commandTimeoutMs ?? 2000,
    connectTimeoutMs: 2000,
    onError: (err) => {
      // node-redis reports every failed reconnect attempt; one line per distinct cause is enough.
      const line = `redis store ${target.display}: ${err.message || err.name}`;
      if (line !== lastLogged) options.log?.(line);
      lastLogged = line;
    },
  });
  const store = new RedisStore(connection, {
    namespace: target.namespace ?? policy.name,
    onUnavailable: policy.store?.onUnavailable ?? 'refuse',
    holdTtlMs: options.holdTtlMs,
    clock: options.clock,
    log: options.log,
  });
  const connected = await connection.open(options.startupWaitMs ?? 3000);
  if (!connected) options.log?.(`redis store ${target.display}: not reachable yet; retrying in the background`);
  return store;
}
