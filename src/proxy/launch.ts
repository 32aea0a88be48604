import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { Engine } from '../engine/decide';
import type { AccumulatorStore } from '../engine/store';
import { assertPrivateFiles, DataDirError, ensureDataDir, readOrCreateSecret, writableDirWarnings } from '../store/data-dir';
import { LedgerError } from '../store/ledger/errors';
import { Ledger } from '../store/ledger/ledger';
import type { LedgerOptions } from '../store/ledger/ledger';
import { ledgerPaths } from '../store/ledger/segments';
import { SIGNING_KEY_FILE } from '../store/ledger/signer';
import type { WitnessStore } from '../store/ledger/witness';
import { MemoryStore } from '../store/memory-store';
import type { RevocationBody } from '../contracts/audit-records';
import { RedisStore } from '../store/redis/redis-store';
import type { RedisRevocations } from '../store/redis/revocations';
import { DataDirKeySource, KeyRingError, SESSION_KEY_FILE, SESSION_KEY_RING_FILE } from '../store/session-key';
import { KeyRotationSchedule } from './key-rotation';
import { TokenGate } from './token-gate';
import { TeamTokens } from './team-tokens';
import type { Revocation } from '../engine/identity/revocation';
import { AccumulatorReadModel } from '../views/accumulator-read-model';
import { ToolPins } from '../store/tool-pins';
import { ADMIN_TOKEN_FILE } from '../contracts/admin';
import { warmDescribeThreads } from './describe/describe';
import { METRICS_PATH, METRICS_TOKEN_FILE } from './metrics-endpoint';
import { PSEUDONYM_KEY_FILE, Pseudonyms } from './pseudonym';
import { recallAccumulators, restoreFromLedger } from './restore';
import { TeamWitness } from './team-witness';
import type { SuspensionRegistry } from '../engine/divergence/suspension';
import { FileSuspensionRegistry, SuspensionFileError } from '../store/suspensions/file-registry';
import { ProxyServer } from './server';
import type { ProxySettings } from './server';
import { counted } from '../contracts/wording';

export interface LaunchConfig extends ProxySettings {
  readonly dataDir: string;
  /** The accumulator store; the memory store (restored from the ledger) when absent. */
  readonly store?: AccumulatorStore;
  /** Ledger settings (tests inject a failing disk here). */
  readonly ledgerOptions?: LedgerOptions;
  /** The time decisions are made at; tests hold it still so that buckets do not refill mid-test. */
  readonly clock?: () => number;
  /** Team mode: where the ledger's latest witness is kept outside the data dir (the Redis store). */
  readonly witnesses?: WitnessStore;
  /** Where suspensions are kept: the Redis store's in team mode, else the data dir's file, when absent. */
  readonly suspensions?: SuspensionRegistry;
  /** Team mode: the revocations shared through Redis (the Redis store's, when absent). */
  readonly revocations?: RedisRevocations;
}

export interface RunningProxy {
  readonly server: ProxyServer;
  readonly ledger: Ledger;
  readonly adminToken: string;
  /** Drains calls in flight, then flushes and closes the ledger. */
  stop(drainMs?: number): Promise<void>;
}

/** A proxy that could not start: the data dir is locked or exposed, the ledger cannot be trusted, or the address is taken. */
export class LaunchError extends Error {
  constructor(
    readonly reason: 'data-dir' | 'ledger' | 'listen',
    message: string,
  ) {
    super(message);
    this.name = 'LaunchError';
  }
  static is(err: unknown): err is LaunchError {
    return err instanceof LaunchError;
  }
}

/** Opens the data dir (keys, ledger), restores spend from the ledger, and starts listening. */
export async function launchProxy(c: LaunchConfig): Promise<RunningProxy> {
  // A describe thread takes a good part of a second to load: it loads while the ledger opens.
  warmDescribeThreads();
  const dataDir = ensureDataDir(c.dataDir);
  // Every secret is checked before anything opens, so all exposed files are named in one message.
  try {
    assertPrivateFiles([SIGNING_KEY_FILE, SESSION_KEY_FILE, SESSION_KEY_RING_FILE, ADMIN_TOKEN_FILE, PSEUDONYM_KEY_FILE, METRICS_TOKEN_FILE].map((f) => path.join(dataDir, f)));
  } catch (err) {
    if (DataDirError.is(err)) throw new LaunchError('data-dir', err.message);
    throw err;
  }
  const paths = ledgerPaths(dataDir);
  for (const warning of writableDirWarnings([dataDir, paths.root, paths.journal])) c.log.warn(warning);
  let ledger: Ledger;
  try {
    // The ledger seals and writes on its own thread unless a test injects a write layer.
    ledger = await Ledger.open(dataDir, { worker: c.ledgerOptions?.io === undefined, ...c.ledgerOptions });
  } catch (err) {
    if (LedgerError.is(err)) throw new LaunchError('ledger', err.message);
    throw err;
  }
  if (ledger.recovered) {
    const r = ledger.recovered;
    c.log.warn(`ledger: ${r.problem} (${r.bytes} bytes from byte ${r.offset} of ${r.segment})`);
  }
  const teamWitness = c.witnesses ? new TeamWitness(c.witnesses, dataDir, c.log) : null;
  const notExtended = await teamWitness?.check().catch(async (err: unknown) => {
    await ledger.close();
    throw err;
  });
  if (notExtended) {
    await ledger.close();
    throw new LaunchError('ledger', notExtended);
  }
  const adminToken = readOrCreateSecret(dataDir, ADMIN_TOKEN_FILE, () => randomBytes(32).toString('hex')).trim();
  c.log.addSecret(adminToken);
  // Prometheus scrapes with a token of its own, so a monitoring stack never holds the admin token.
  const metricsToken = readOrCreateSecret(dataDir, METRICS_TOKEN_FILE, () => randomBytes(32).toString('hex')).trim();
  c.log.addSecret(metricsToken);
  if (metricsToken.length < 32 || metricsToken === adminToken) {
    await ledger.close();
    throw new LaunchError('data-dir', `${path.join(dataDir, METRICS_TOKEN_FILE)} must hold a token of at least 32 characters, other than the admin token (delete it to have a new one made)`);
  }
  for (const p of c.policy.providers.values()) if (p.keyEnv) c.log.addSecret(c.env[p.keyEnv]);

  const memory = c.store ? undefined : new MemoryStore();
  const store = c.store ?? memory!;
  // The accumulators the views list are those the ledger's decisions touched, so the dashboard
  // shows them before a call touches each again.
  const views = new AccumulatorReadModel();
  // Restored before the first connection is accepted, so no call is ever decided on a blank state.
  // A shared store (Redis) already holds the team's state; only this process's memory needs the ledger.
  try {
    if (memory) {
      const restored = await restoreFromLedger(ledger, new Engine(c.policy, memory), memory, Date.now(), views);
      if (restored.decisions > 0) c.log.info(`restored spend from ${counted(restored.decisions, 'recorded decision')} (${restored.unsettled} unsettled, counted at their reserved worst case)`);
    } else await recallAccumulators(ledger, new Engine(c.policy, store), Date.now(), views);
  } catch (err) {
    await ledger.close();
    if (LedgerError.is(err)) throw new LaunchError('ledger', err.message);
    throw err;
  }
  let suspensions: SuspensionRegistry;
  try {
    suspensions = c.suspensions ?? (store instanceof RedisStore ? store.suspensions : FileSuspensionRegistry.inDataDir(dataDir));
  } catch (err) {
    await ledger.close();
    if (SuspensionFileError.is(err)) throw new LaunchError('data-dir', err.message);
    throw err;
  }
  let keySource: DataDirKeySource;
  try {
    keySource = new DataDirKeySource(dataDir);
  } catch (err) {
    await ledger.close();
    if (KeyRingError.is(err) || DataDirError.is(err)) throw new LaunchError('data-dir', err.message);
    throw err;
  }
  const record = (body: RevocationBody): boolean => {
    try {
      ledger.append(body).durable.catch((err: Error) => c.log.error(`ledger: ${err.message}`));
      return true;
    } catch (err) {
      c.log.error(`ledger: ${(err as Error).message}`);
      return false;
    }
  };
  const team = c.revocations ?? (store instanceof RedisStore ? store.revocations : undefined);
  const teamTokens = store instanceof RedisStore ? new TeamTokens({ dataDir, tokens: store.tokens, log: c.log, clock: c.clock ?? Date.now }) : undefined;
  // The admin stream tells the editor of a revocation as it comes into force (the server exists by then).
  let announce: (r: Revocation) => void = () => undefined;
  const gate = new TokenGate({
    dataDir, team, record, log: c.log, clock: c.clock ?? Date.now, announce: (r) => announce(r),
    ...(teamTokens ? { onUse: (id: string, at: number) => teamTokens.noteUse(id, at) } : {}),
  });
  let server: ProxyServer;
  try {
    server = await ProxyServer.start({
      ...c, store, ledger, sessionKeys: keySource.current.current, keySource, gate, adminToken, metricsToken, pseudonyms: Pseudonyms.fromDataDir(dataDir), views, suspensions,
      toolPins: store instanceof RedisStore ? store.toolPins : ToolPins.open(dataDir),
    });
  } catch (err) {
    await ledger.close();
    const e = err as NodeJS.ErrnoException;
    throw new LaunchError('listen', `cannot listen on ${c.host}:${c.port}: ${e.code ?? e.message}`);
  }
  announce = (r) => server.announceRevocation(r);
  const p = c.policy;
  ledger.append({ kind: 'policy', event: 'loaded', policy: { name: p.name, hash: p.hash }, source: c.policyPath, errors: [] });
  c.log.info(`policy '${p.name}' (${p.hash.slice(0, 12)}) from ${c.policyPath}; data in ${dataDir}${c.shadow ? '; shadow mode: nothing is refused' : ''}`);
  const metricsAuth = p.telemetry?.metricsAuth ?? 'token';
  c.log.info(`metrics: GET ${METRICS_PATH} ${metricsAuth === 'token' ? `with Authorization: Bearer <the token in ${path.join(dataDir, METRICS_TOKEN_FILE)}>` : 'without a token (telemetry.metrics_endpoint.auth: none)'}`);
  teamWitness?.start();
  gate.start();
  teamTokens?.start();
  const rotation = new KeyRotationSchedule(dataDir, keySource, () => server.policy, c.log);
  rotation.start();
  let stopped: Promise<void> | undefined;
  return {
    server,
    ledger,
    adminToken,
    stop(drainMs?: number): Promise<void> {
      rotation.stop();
      teamTokens?.stop();
      stopped ??= server
        .stop(drainMs)
        .then(() => gate.stop())
        .then(() => ledger.close())
        .then(() => teamWitness?.stop());
      return stopped;
    },
  };
}
