import { createClient, createCluster, ErrorReply } from '@redis/client';
import type { LuaScriptName } from './lua';
import { LUA_SCRIPTS } from './lua';
import { StoreError } from './errors';

/*
 * One connection to Redis (a single server or a cluster), reduced to what the store needs: run a
 * script (the client sends it by its SHA1 and again in full when the server has forgotten it), time
 * out, and say when Redis is unreachable.
 * node-redis reconnects in the background with the backoff below; its offline queue is disabled
 * so a decision fails fast (and the proxy answers 503 or falls back) instead of waiting for Redis.
 */

export interface RedisTarget {
  readonly cluster: boolean;
  /** redis:// or rediss:// URLs: the server, or the cluster's seed nodes. */
  readonly urls: readonly string[];
  /** Set with `?namespace=`: the hash tag's content; defaults to the policy's name. */
  readonly namespace?: string;
  /** The spec with any password replaced, for logs. */
  readonly display: string;
}

/**
 * Parses `redis://[user:pass@]host:port[/db]`, `rediss://...` (TLS), and
 * `redis+cluster://host:port[,host:port...]` / `rediss+cluster://...` (Redis Cluster, seed
 * nodes). `?namespace=NAME` chooses the key namespace. A cluster has no databases: `/db` is refused.
 */
export function parseRedisSpec(spec: string): RedisTarget {
  const m = /^(rediss?)(\+cluster)?:\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/.exec(spec.trim());
  if (!m) throw new StoreError('config', `not a Redis URL: '${redactSpec(spec)}' (use redis://HOST:PORT[/DB], rediss://..., or redis+cluster://HOST:PORT[,HOST:PORT])`);
  const [, scheme, clusterFlag, authority, path, query] = m as unknown as [string, string, string | undefined, string, string | undefined, string | undefined];
  const cluster = clusterFlag !== undefined;
  const at = authority.lastIndexOf('@');
  const auth = at >= 0 ? authority.slice(0, at + 1) : '';
  const hosts = (at >= 0 ? authority.slice(at + 1) : authority).split(',').filter((h) => h.length > 0);
  if (hosts.length === 0) throw new StoreError('config', `no host in '${redactSpec(spec)}'`);
  if (!cluster && hosts.length > 1) throw new StoreError('config', `several hosts need redis+cluster:// ('${redactSpec(spec)}')`);
  const db = path && path !== '/' ? path.slice(1) : undefined;
  if (db !== undefined && !/^\d+$/.test(db)) throw new StoreError('config', `the database must be a number, not '${db}'`);
  if (cluster && db !== undefined && db !== '0') throw new StoreError('config', 'Redis Cluster has only database 0');
  const params = new URLSearchParams(query ? query.slice(1) : '');
  const namespace = params.get('namespace') ?? undefined;
  for (const name of params.keys()) if (name !== 'namespace') throw new StoreError('config', `unknown Redis URL option '${name}' (only namespace)`);
  const urls = hosts.map((h) => `${scheme}://${auth}${h}${!cluster && db !== undefined ? `/${db}` : ''}`);
  return { cluster, urls, namespace, display: redactSpec(spec) };
}

/** The spec with its password (if any) replaced by `***`. */
export function redactSpec(spec: string): string {
  return spec.replace(/(\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}

/** Exponential backoff from 50 ms to 2 s, jittered so several proxies do not reconnect in step. */
export function reconnectDelay(retries: number): number {
  return Math.min(2000, 50 * 2 ** Math.min(retries, 10)) + Math.floor(Math.random() * 50);
}

/** Redis error replies that mean "not now" rather than "wrong": the server is starting or failing over. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY)\b/;

export interface ConnectionOptions {
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly onError?: (err: Error) => void;
}

export interface ScriptConnection {
  /** Runs one of the store's scripts. */
  run(script: LuaScriptName, keys: readonly string[], args: readonly string[]): Promise<unknown>;
  /** Starts connecting; resolves when connected or after `waitMs`, whichever comes first. */
  open(waitMs: number): Promise<boolean>;
  /** Whether the client believes it is connected now (a cluster says true until a command fails). */
  ready(): boolean;
  close(): Promise<void>;
}

type Run = (script: LuaScriptName, keys: readonly string[], args: readonly string[]) => Promise<unknown>;

/** Opens nothing yet: `open()` connects. */
export function createScriptConnection(target: RedisTarget, options: ConnectionOptions): ScriptConnection {
  const socket = { connectTimeout: options.connectTimeoutMs, reconnectStrategy: (retries: number): number => reconnectDelay(retries) };
  const onError = (err: Error): void => options.onError?.(err);
  let runScript: Run;
  let connect: () => Promise<unknown>;
  let isReady: () => boolean;
  let quit: () => Promise<unknown>;
  if (target.cluster) {
    const cluster = createCluster({
      rootNodes: target.urls.map((url) => ({ url })),
      defaults: { disableOfflineQueue: true, socket },
      scripts: LUA_SCRIPTS,
    });
    cluster.on('error', onError);
    runScript = (script, keys, args) => cluster[script](keys, args);
    connect = () => cluster.connect();
    isReady = () => cluster.isOpen;
    quit = () => cluster.close();
  } else {
    const client = createClient({ url: target.urls[0]!, disableOfflineQueue: true, socket, scripts: LUA_SCRIPTS });
    client.on('error', onError);
    runScript = (script, keys, args) => client[script](keys, args);
    connect = () => client.connect();
    isReady = () => client.isReady;
    quit = async () => {
      if (client.isOpen) await client.close();
      else client.destroy();
    };
  }

  let closed = false;
  let connecting: Promise<unknown> | undefined;

  const withTimeout = async (p: Promise<unknown>): Promise<unknown> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new StoreError('unavailable', `Redis did not answer within ${options.commandTimeoutMs} ms`)), options.commandTimeoutMs);
    });
    try {
      return await Promise.race([p, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  const classify = (err: unknown): StoreError => {
    if (StoreError.is(err)) return err;
    if (err instanceof ErrorReply && !TRANSIENT_REPLY.test(err.message)) return new StoreError('script', `Redis refused the script: ${err.message}`, { cause: err });
    const detail = err instanceof Error ? err.message : String(err);
    return new StoreError('unavailable', `Redis is unreachable: ${detail || (err as Error)?.constructor?.name || 'connection lost'}`, { cause: err });
  };

  return {
    async run(script, keys, args) {
      if (closed) throw new StoreError('closed', 'the Redis store is closed');
      try {
        return await withTimeout(runScript(script, keys, args));
      } catch (err) {
        throw classify(err);
      }
    },
    async open(waitMs) {
      if (!connecting) {
        connecting = connect();
        // Keeps retrying in the background (reconnectStrategy); failures arrive as 'error' events.
        connecting.catch(onError);
      }
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), waitMs);
      });
      try {
        return await Promise.race([connecting.then(() => true, () => false), waited]);
      } finally {
        clearTimeout(timer);
      }
    },
    ready: () => isReady(),
    async close() {
      if (closed) return;
      closed = true;
      try {
        await quit();
      } catch {
        // Closing a connection that is already gone has nothing left to release.
      }
    },
  };
}
