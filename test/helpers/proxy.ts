import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { mintSessionToken } from '../../src/engine/identity/tokens';
import { loadPolicy } from '../../src/engine/policy/loader';
import type { AccumulatorStore } from '../../src/engine/store';
import type { StateSnapshot } from '../../src/contracts/admin';
import { launchProxy } from '../../src/proxy/launch';
import type { RunningProxy } from '../../src/proxy/launch';
import { Logger } from '../../src/proxy/log';
import type { LedgerOptions } from '../../src/store/ledger/ledger';
import type { AuditRecord } from '../../src/contracts/audit-records';
import { loadSessionKeys } from '../../src/store/session-key';
import { referenceText } from './policy';

/** A fake upstream key, built at run time so no key-shaped literal sits in the repository. */
export const UPSTREAM_KEY = ['sk', 'test', 'upstream', 'a1b2c3d4e5f6g7h8'].join('-');

export interface TestProxy {
  readonly url: string;
  readonly running: RunningProxy;
  readonly dataDir: string;
  readonly policyPath: string;
  /** Everything the proxy logged. */
  logs(): string;
  token(user: string, o?: { agent?: string; roles?: string[] }): Promise<string>;
  state(): Promise<StateSnapshot>;
  records(): Promise<AuditRecord[]>;
  stop(): Promise<void>;
}

export async function startTestProxy(
  upstream: string,
  o: { policyText?: string; clock?: () => number; shadow?: boolean; maxBodyBytes?: number; headerTimeoutMs?: number; bodyTimeoutMs?: number; dataDir?: string; store?: AccumulatorStore; ledgerOptions?: LedgerOptions; env?: NodeJS.ProcessEnv; mcpStdio?: boolean } = {},
): Promise<TestProxy> {
  const dataDir = o.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-proxy-'));
  const policyPath = path.join(dataDir, 'tollgate.yaml');
  const text = o.policyText ?? referenceText;
  fs.writeFileSync(policyPath, text);
  const loaded = loadPolicy(text);
  if (!loaded.ok) throw new Error('test policy does not load');
  const out = new PassThrough();
  let logText = '';
  out.on('data', (c: Buffer) => (logText += c.toString()));
  const running = await launchProxy({
    dataDir, policyPath, policyText: text, policy: loaded.policy, host: '127.0.0.1', port: 0,
    upstreamOverrides: new Map([['openai', upstream], ['anthropic', upstream], ['gemini', upstream], ['local', upstream]]), shadow: o.shadow ?? false, maxBodyBytes: o.maxBodyBytes ?? 1024 * 1024,
    bodyTimeoutMs: o.bodyTimeoutMs ?? 5_000, upstreamHeaderTimeoutMs: o.headerTimeoutMs ?? 5_000, upstreamIdleTimeoutMs: 5_000,
    env: o.env ?? { OPENAI_API_KEY: UPSTREAM_KEY, ANTHROPIC_API_KEY: UPSTREAM_KEY, GEMINI_API_KEY: UPSTREAM_KEY }, log: new Logger(out, 'debug'), store: o.store, ledgerOptions: o.ledgerOptions, clock: o.clock, mcpStdio: o.mcpStdio,
  });
  const keys = loadSessionKeys(dataDir);
  const url = running.server.url;
  return {
    url, running, dataDir, policyPath,
    logs: () => logText,
    token: (user, t = {}) => mintSessionToken(keys, { user, agent: t.agent, roles: t.roles, ttlMs: 3_600_000, now: Date.now() }),
    state: async () => {
      const r = await fetch(`${url}/_tollgate/state`, { headers: { authorization: `Bearer ${running.adminToken}` } });
      return (await r.json()) as StateSnapshot;
    },
    records: async () => {
      const all: AuditRecord[] = [];
      for await (const r of running.ledger.records()) all.push(r);
      return all;
    },
    stop: () => running.stop(1_000),
  };
}

