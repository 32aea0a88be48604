import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatIssue, loadPolicy } from '../engine/policy/loader';
import { registeredStyles } from '../providers/registry';
import { isLoopback } from '../proxy/bind';
import { Logger } from '../proxy/log';
import { resolveDataDir } from '../store/data-dir';
import { LaunchError, launchProxy } from '../proxy/launch';
import type { RunningProxy } from '../proxy/launch';
import { MemoryStore } from '../store/memory-store';
import { StoreError } from '../store/redis/errors';
import { RedisStore } from '../store/redis/redis-store';
import { createStore } from '../store/store-factory';
import { referencePolicyPath } from '../store/reference-policy';
import { commandSpec, parseCommandArgs, parseDurationArg } from './args';
import type { CommandRunner } from './io';
import { UsageError } from './io';
import { counted } from '../contracts/wording';

const DEFAULT_PORT = 8787;

function parseBytes(text: string): number {
  const m = /^(\d+)(b|kb|k|mb|m|gb|g)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`invalid size '${text}': use bytes or a number with kb, mb or gb (10mb)`);
  const unit = (m[2] ?? 'b').toLowerCase();
  return Number(m[1]) * (unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 ** 2 : unit.startsWith('g') ? 1024 ** 3 : 1);
}

/** A timeout flag: a duration, or a bare number of seconds. */
function parseSeconds(text: string, flag: string): number {
  return parseDurationArg(/^\s*\d+\s*$/.test(text) ? `${text.trim()}s` : text, flag);
}

export const serveSpec = commandSpec({
  name: 'serve',
  summary: 'Run the attributing proxy. Prints "tollgate listening on http://HOST:PORT" once it accepts connections; SIGTERM/SIGINT drain, flush and exit 0.',
  options: {
    policy: { type: 'string', value: 'FILE', description: 'the policy bundle, watched for edits (default: the reference bundle)' },
    port: { type: 'string', value: 'N', description: `port to listen on; 0 picks a free one (default ${DEFAULT_PORT})` },
    host: { type: 'string', value: 'H', description: 'address to bind (default 127.0.0.1; another one is reachable from other machines)' },
    'data-dir': { type: 'string', value: 'DIR', description: 'where keys, tokens and the audit ledger live (default: $TOLLGATE_DATA_DIR, else ~/.tollgate)' },
    upstream: { type: 'string', multiple: true, value: 'NAME=URL', description: "send a provider's calls to another upstream (openai=http://127.0.0.1:9000)" },
    shadow: { type: 'boolean', default: false, description: 'record what would be refused, refuse nothing' },
    'max-body': { type: 'string', default: '10mb', value: 'SIZE', description: 'largest request body accepted' },
    'body-timeout': { type: 'string', default: '30s', value: 'DURATION', description: 'longest a client may take to send its headers, then its body' },
    'upstream-timeout': { type: 'string', default: '120s', value: 'DURATION', description: "longest wait for the upstream's response headers" },
    'stream-idle-timeout': { type: 'string', default: '300s', value: 'DURATION', description: 'longest silence in a streamed response' },
    'log-level': { type: 'string', default: 'info', value: 'LEVEL', description: 'debug, info, warn or error' },
    store: { type: 'string', value: 'URL', description: 'share accumulators with other proxies (team mode: redis://HOST:PORT)' },
    'disk-reserve': { type: 'string', default: '64mb', value: 'SIZE', description: "free space the ledger leaves on its disk; calls get 503 below it" },
    'mcp-stdio': { type: 'string', default: 'allow', value: 'allow|refuse', description: "whether the bundle's local MCP servers (mcp.servers.<name>.command) may be started; the editor refuses them in an untrusted workspace" },
  },
  examples: ['tollgate serve --policy policies/reference.yaml --port 8787'],
});

/** `tollgate serve`: resolves when the proxy has stopped (SIGTERM/SIGINT: drain, flush, exit 0). */
export const run: CommandRunner = async (argv, io) => {
  const { values } = parseCommandArgs(argv, serveSpec);
  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`invalid --port '${values.port}'`);
  const host = values.host ?? '127.0.0.1';
  const mcpStdio = values['mcp-stdio'] ?? 'allow';
  if (mcpStdio !== 'allow' && mcpStdio !== 'refuse') throw new UsageError(`invalid --mcp-stdio '${mcpStdio}': allow or refuse`);
  const level = values['log-level'];
  if (level !== 'debug' && level !== 'info' && level !== 'warn' && level !== 'error') throw new UsageError(`invalid --log-level '${level}'`);
  const diskReserveBytes = parseBytes(values['disk-reserve'] ?? '64mb');
  const parent = io.parent;
  const log = new Logger(io.stderr, level, parent ? (l, message): void => parent({ type: 'log', level: l, message }) : undefined);
  if (!isLoopback(host)) {
    log.warn(`binding ${host}: the proxy is reachable from other machines; every caller still needs a verified identity`);
  }

  const policyPath = path.resolve(io.cwd, values.policy ?? referencePolicyPath());
  let policyText: string;
  try {
    policyText = fs.readFileSync(policyPath, 'utf8');
  } catch (err) {
    io.stderr.write(`tollgate serve: cannot read policy ${policyPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
    return 1;
  }
  const loaded = loadPolicy(policyText, Date.now(), registeredStyles());
  for (const w of loaded.warnings) log.warn(formatIssue(policyPath, w));
  if (!loaded.ok) {
    for (const e of loaded.errors) io.stderr.write(`${formatIssue(policyPath, e)}\n`);
    io.stderr.write(`tollgate serve: the policy has ${counted(loaded.errors.length, 'error')}; not starting\n`);
    return 1;
  }

  const overrides = new Map<string, string>();
  for (const u of values.upstream ?? []) {
    const m = /^([a-z0-9][a-z0-9_-]*)=(https?:\/\/.+)$/.exec(u);
    if (!m) throw new UsageError(`invalid --upstream '${u}': use NAME=URL (openai=http://127.0.0.1:9000)`);
    if (!loaded.policy.providers.has(m[1]!)) throw new UsageError(`--upstream names '${m[1]}', which the policy does not define (it has: ${[...loaded.policy.providers.keys()].join(', ')})`);
    overrides.set(m[1]!, m[2]!);
  }

  // Team mode (--store redis://...): accumulators shared through Redis; memory (restored from the ledger) otherwise.
  const store = await createStore(values.store, loaded.policy, { log: (line) => log.warn(line) }).catch((err: unknown) => {
    throw StoreError.is(err, 'config') ? new UsageError(`--store: ${err.message}`) : err;
  });
  let running: RunningProxy;
  try {
    running = await launchProxy({
      dataDir: resolveDataDir(values['data-dir'], io.env), policyPath, policyText, policy: loaded.policy, host, port, upstreamOverrides: overrides,
      shadow: values.shadow ?? false, maxBodyBytes: parseBytes(values['max-body'] ?? '10mb'),
      bodyTimeoutMs: parseSeconds(values['body-timeout'] ?? '30s', '--body-timeout'),
      upstreamHeaderTimeoutMs: parseSeconds(values['upstream-timeout'] ?? '120s', '--upstream-timeout'),
      upstreamIdleTimeoutMs: parseSeconds(values['stream-idle-timeout'] ?? '300s', '--stream-idle-timeout'),
      env: io.env, log, store: store instanceof MemoryStore ? undefined : store, mcpStdio: mcpStdio === 'allow',
      ledgerOptions: { diskReserveBytes },
      witnesses: store instanceof RedisStore ? store.witnesses : undefined,
    });
  } catch (err) {
    await store.close();
    if (LaunchError.is(err)) {
      io.stderr.write(`tollgate serve: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log.info(`${signal}: draining calls in flight`);
      void running
        .stop()
        .then(() => store.close())
        .then(() => {
          log.info('stopped');
          resolve(0);
        }, (err: Error) => {
          log.error(`stopping: ${err.message}`);
          resolve(1);
        })
        .finally(() => {
          process.removeListener('SIGTERM', onTerm);
          process.removeListener('SIGINT', onInt);
        });
    };
    const onTerm = (): void => stop('SIGTERM');
    const onInt = (): void => stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    // Said once the signal handlers are in place: whoever waits for it may stop us at once.
    if (parent) parent({ type: 'listening', url: running.server.url });
    else {
      io.stdout.write(`tollgate listening on ${running.server.url}\n`);
      log.info(`dashboard at ${running.server.url}/_tollgate/ (sign in with the admin-token file of the data dir)`);
    }
  });
};
