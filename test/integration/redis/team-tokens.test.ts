import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import OpenAI from 'openai';
import { runTollgate } from '../../helpers/cli';
import { eventually } from '../../helpers/poll';
import type { TestProxy } from '../../helpers/proxy';
import type { TestRedis } from '../../helpers/redis';
import { startTeamPair } from '../../helpers/team-pair';
import type { TeamPair } from '../../helpers/team-pair';

// Team mode: `tollgate token list --store` shows the tokens minted anywhere in the team (with
// `tollgate token --store` from any data dir, or from a team proxy's own data dir), with the last
// use any proxy of the team saw; without --store it lists the data dir's own, as before.

const POLICY = `version: 1
name: team-tokens
providers:
  openai: { upstream: "http://127.0.0.1:9", style: openai, key_env: OPENAI_API_KEY }
identity:
  required: true
prices:
  gpt-4o-mini: { input: 0.15, output: 0.60 }
entitlements:
  default:
    models: ["*"]
    routes: [/v1/chat/completions]
`;

interface ListedToken {
  id: string;
  user: string;
  agent: string | null;
  last_used: string | null;
}

describe('the token list across a Redis pair of proxies', function () {
  this.timeout(120_000);
  let team: TeamPair | undefined;
  let redis: TestRedis;
  let proxies: readonly TestProxy[] = [];
  let policyFile: string;
  let elsewhere: string;

  before(async () => {
    // An operator's machine with the team's session key and no proxy.
    elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-team-tok-admin-'));
    team = await startTeamPair('team-tok', POLICY, [elsewhere]);
    ({ redis, proxies } = team);
    policyFile = path.join(elsewhere, 'team.yaml');
    fs.writeFileSync(policyFile, POLICY);
  });

  after(async () => {
    await team?.stop();
  });

  const idOf = (token: string): string => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti as string;
  const ask = (p: TestProxy, token: string): Promise<unknown> =>
    new OpenAI({ apiKey: token, baseURL: `${p.url}/openai/v1`, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
  async function list(dataDir: string, team: boolean): Promise<ListedToken[]> {
    const r = await runTollgate(['token', 'list', '--format', 'json', '--data-dir', dataDir, ...(team ? ['--store', redis.url, '--policy', policyFile] : [])]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    return r.stdout.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as ListedToken);
  }

  it('lists a token minted with --store from another data dir, with the last use a proxy of the team saw', async () => {
    const minted = await runTollgate(['token', '--user', 'kim@acme.dev', '--agent', 'ci', '--data-dir', elsewhere, '--store', redis.url, '--policy', policyFile]);
    assert.equal(minted.code, 0, minted.stderr);
    const token = minted.stdout.trim();
    const second = proxies[1]!.dataDir;

    const before = (await list(second, true)).find((t) => t.id === idOf(token));
    assert.ok(before, "the team's list shows it");
    assert.deepEqual([before.user, before.agent, before.last_used], ['kim@acme.dev', 'ci', null]);
    assert.equal((await list(second, false)).find((t) => t.id === idOf(token)), undefined, "without --store: only the data dir's own tokens");

    await ask(proxies[1]!, token);
    const used = await eventually(async () => (await list(proxies[0]!.dataDir, true)).find((t) => t.id === idOf(token))?.last_used, 'the last use in the team list', 30_000);
    assert.ok(Date.parse(used) > Date.now() - 600_000, used);
  });

  it("lists a token minted from a team proxy's own data dir, and no longer once it is revoked", async () => {
    const minted = await runTollgate(['token', '--user', 'lee@acme.dev', '--data-dir', proxies[0]!.dataDir]);
    assert.equal(minted.code, 0, minted.stderr);
    const id = idOf(minted.stdout.trim());
    // The first proxy registers its data dir's new tokens with the team.
    await eventually(async () => (await list(elsewhere, true)).some((t) => t.id === id), "the proxy's token in the team list", 30_000);

    const revoked = await runTollgate(['token', 'revoke', '--id', id, '--data-dir', elsewhere, '--store', redis.url, '--policy', policyFile]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal((await list(elsewhere, true)).some((t) => t.id === id), false, 'a revoked token is not live');
  });
});
