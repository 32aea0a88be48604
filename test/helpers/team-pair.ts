import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadPolicy } from '../../src/engine/policy/loader';
import { SESSION_KEY_FILE } from '../../src/store/session-key';
import type { ClosableStore } from '../../src/store/store-factory';
import { createStore } from '../../src/store/store-factory';
import { runTollgate } from './cli';
import { MockUpstream } from './mock-upstream';
import { startTestProxy } from './proxy';
import type { TestProxy } from './proxy';
import { startRedis } from './redis';
import type { TestRedis } from './redis';

/** Two proxies of one team: one redis-server, one session key, each proxy its own data dir and store. */
export interface TeamPair {
  readonly redis: TestRedis;
  readonly mock: MockUpstream;
  readonly proxies: readonly [TestProxy, TestProxy];
  readonly stores: readonly ClosableStore[];
  stop(): Promise<void>;
}

/**
 * Starts a team pair under `policyText`. The session key is made in the first data dir and copied to
 * the second and to each of `shareKeyWith` (an operator's machine with no proxy), so a token minted
 * from any of them verifies on both proxies.
 */
export async function startTeamPair(name: string, policyText: string, shareKeyWith: readonly string[] = []): Promise<TeamPair> {
  const loaded = loadPolicy(policyText);
  if (!loaded.ok) throw new Error('test policy does not load');
  const redis = await startRedis();
  const mock = new MockUpstream();
  const stores: ClosableStore[] = [];
  const proxies: TestProxy[] = [];
  const stop = async (): Promise<void> => {
    for (const p of proxies) await p.stop();
    for (const s of stores) await s.close();
    await mock.stop();
    await redis.dispose();
  };
  try {
    const upstream = await mock.start();
    const first = fs.mkdtempSync(path.join(os.tmpdir(), `tollgate-${name}-a-`));
    const second = fs.mkdtempSync(path.join(os.tmpdir(), `tollgate-${name}-b-`));
    const seeded = await runTollgate(['token', '--user', 'seed@acme.dev', '--data-dir', first]);
    if (seeded.code !== 0) throw new Error(`the team's session key was not made: ${seeded.stderr}`);
    for (const dir of [second, ...shareKeyWith]) {
      fs.copyFileSync(path.join(first, SESSION_KEY_FILE), path.join(dir, SESSION_KEY_FILE));
      fs.chmodSync(path.join(dir, SESSION_KEY_FILE), 0o600);
    }
    for (const dataDir of [first, second]) {
      const store = await createStore(redis.url, loaded.policy);
      stores.push(store);
      proxies.push(await startTestProxy(upstream, { policyText, dataDir, store }));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { redis, mock, proxies: [proxies[0]!, proxies[1]!], stores, stop };
}
