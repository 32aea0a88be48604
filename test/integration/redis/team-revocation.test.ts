import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import OpenAI from 'openai';
import type { RevocationRecord } from '../../../src/contracts/audit-records';
import { runTollgate } from '../../helpers/cli';
import { eventually } from '../../helpers/poll';
import type { TestProxy } from '../../helpers/proxy';
import type { TestRedis } from '../../helpers/redis';
import { startTeamPair } from '../../helpers/team-pair';
import type { TeamPair } from '../../helpers/team-pair';

// Team mode: two proxies share one Redis and one session key (each its own data dir and ledger).
// A token revoked with `tollgate token revoke --store` is refused on the next call by both, and
// each records the revocation in its own ledger; one revoked in a proxy's data dir reaches the other
// proxy through Redis.

const POLICY = `version: 1
name: team-revocation
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

describe('revocation across a Redis pair of proxies', function () {
  this.timeout(120_000);
  let team: TeamPair | undefined;
  let redis: TestRedis;
  let proxies: readonly TestProxy[] = [];
  let policyFile: string;

  before(async () => {
    // One session key for the team: a token minted from either data dir verifies on both.
    team = await startTeamPair('team-rev', POLICY);
    ({ redis, proxies } = team);
    const first = proxies[0]!.dataDir;
    policyFile = path.join(first, 'team.yaml');
    fs.writeFileSync(policyFile, POLICY);
  });

  after(async () => {
    await team?.stop();
  });

  const call = (p: TestProxy, token: string): Promise<unknown> =>
    new OpenAI({ apiKey: token, baseURL: `${p.url}/openai/v1`, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });

  async function refused(p: TestProxy, token: string): Promise<InstanceType<typeof OpenAI.APIError>> {
    try {
      await call(p, token);
    } catch (err) {
      if (err instanceof OpenAI.APIError) return err;
      throw err;
    }
    assert.fail('the call was admitted');
  }

  const mint = async (user: string): Promise<string> => {
    const r = await runTollgate(['token', '--user', user, '--agent', 'ci', '--data-dir', proxies[0]!.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  const idOf = (token: string): string => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti as string;

  it('refuses a token revoked with --store on the next call of both proxies, and each ledger records it', async () => {
    const token = await mint('ivy@acme.dev');
    for (const p of proxies) await call(p, token);
    const r = await runTollgate(['token', 'revoke', '--id', idOf(token), '--data-dir', proxies[0]!.dataDir, '--store', redis.url, '--policy', policyFile]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /on every proxy of the team/);
    for (const p of proxies) {
      const err = await refused(p, token);
      assert.equal(err.status, 401);
      assert.match(err.message, /revoked/);
    }
    for (const p of proxies) {
      const records = await eventually(async () => (await p.records()).filter((x): x is RevocationRecord => x.kind === 'revocation' && x.value === idOf(token)).length, 'the revocation record', 30_000);
      assert.equal(records, 1, 'recorded once');
    }
  });

  it("a revocation in one proxy's data dir reaches the other proxy through Redis", async () => {
    const token = await mint('joe@acme.dev');
    for (const p of proxies) await call(p, token);
    // No --store: only the first proxy's data dir has it, and that proxy shares it when it sees it.
    const r = await runTollgate(['token', 'revoke', '--user', 'joe@acme.dev', '--data-dir', proxies[0]!.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await refused(proxies[0]!, token)).status, 401);
    // The first proxy shares it as soon as it sees it, on that call; the second refuses from then on.
    const err = await refused(proxies[1]!, token);
    assert.equal(err.status, 401);
    const rec = await eventually(async () => (await proxies[1]!.records()).find((x): x is RevocationRecord => x.kind === 'revocation' && x.value === 'joe@acme.dev'), 'the second proxy records it', 30_000);
    assert.equal(rec.source, 'store');
  });
});
