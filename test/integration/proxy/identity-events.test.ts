import assert from 'node:assert/strict';
import OpenAI from 'openai';
import type { AdminEvent, RevocationView } from '../../../src/contracts/admin';
import { AdminClient } from '../../../src/extension/core/admin-client';
import type { EventStream } from '../../../src/extension/core/admin-client';
import { runTollgate } from '../../helpers/cli';
import { MockUpstream } from '../../helpers/mock-upstream';
import { eventually } from '../../helpers/poll';
import { startTestProxy } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';

// The admin event stream tells the editor of a revocation as the proxy takes it into force, without
// waiting for a call: `tollgate token revoke` from the command line shows up as `event: revocation`.

const POLICY = `version: 1
name: identity-events
providers:
  openai: { upstream: "http://127.0.0.1:9", style: openai, key_env: OPENAI_API_KEY }
identity:
  required: true
prices:
  gpt-4o-mini: { input: 0.15, output: 0.60 }
`;

describe('identity events on the admin stream', function () {
  this.timeout(60_000);
  let mock: MockUpstream;
  let proxy: TestProxy;
  let stream: EventStream | undefined;

  before(async () => {
    mock = new MockUpstream();
    proxy = await startTestProxy(await mock.start(), { policyText: POLICY });
  });
  after(async () => {
    stream?.close();
    await proxy.stop();
    await mock.stop();
  });

  it('announces a revocation made from the command line, naming the person and never a token; the next call is refused', async () => {
    const token = await proxy.token('dev@example.test', { agent: 'vscode' });
    const client = new OpenAI({ apiKey: token, baseURL: `${proxy.url}/openai/v1`, maxRetries: 0 });
    const events: AdminEvent[] = [];
    stream = new AdminClient(proxy.url, proxy.running.adminToken).events((e) => events.push(e), () => undefined);
    // The call's decision on the stream shows it is connected before the revocation is made.
    await eventually(async () => {
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
      return events.some((e) => e.type === 'decision');
    }, 'the stream to carry a decision', 30_000, 500);
    const cli = await runTollgate(['token', 'revoke', '--user', 'Dev@Example.test', '--reason', 'laptop lost', '--data-dir', proxy.dataDir]);
    assert.equal(cli.code, 0, cli.stderr);

    const revoked = await eventually(() => events.find((e): e is { type: 'revocation'; revocation: RevocationView } => e.type === 'revocation'), 'the revocation event', 30_000);
    assert.deepEqual({ target: revoked.revocation.target, value: revoked.revocation.value, reason: revoked.revocation.reason }, { target: 'user', value: 'dev@example.test', reason: 'laptop lost' });
    assert.match(revoked.revocation.id, /^rv_/);
    assert.ok(!JSON.stringify(events).includes(token), 'no token on the stream');

    const err = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }).catch((e: unknown) => e);
    assert.ok(err instanceof OpenAI.AuthenticationError, String(err));
    assert.equal(err.headers?.get('x-tollgate-rule'), 'identity');
    assert.match(err.message, /revoked/);
  });
});
