import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { runTollgate } from '../../helpers/cli';
import { MockUpstream } from '../../helpers/mock-upstream';
import { referenceText } from '../../helpers/policy';
import { startTestProxy } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';

const repo = path.resolve(__dirname, '../../..');

/** The README's Quick start program: the js block that names itself quickstart.mjs. */
function quickstartSnippet(): string {
  const readme = fs.readFileSync(path.join(repo, 'README.md'), 'utf8');
  const quickstart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 1));
  const block = [...quickstart.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.startsWith('// quickstart.mjs'));
  assert.ok(block, 'the Quick start has a js block starting // quickstart.mjs');
  return block;
}

describe('README Quick start, run as saved', () => {
  let mock: MockUpstream;
  let proxy: TestProxy;
  let dir: string;
  before(async () => {
    mock = new MockUpstream();
    // The reference bundle refills one call a second; no refill here, so the count of refusals
    // does not depend on how fast this machine makes 25 calls.
    proxy = await startTestProxy(await mock.start(), { policyText: referenceText.replace(/(id: agent-burst[\s\S]*?rate: )60\/min/, '$11/day') });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-quickstart-'));
    // Saved in a folder where the openai package resolves, as the README asks.
    fs.symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  });
  after(async () => {
    await proxy.stop();
    await mock.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('prints the successes and then each refusal with its status and message', async () => {
    const file = path.join(dir, 'quickstart.mjs');
    fs.writeFileSync(file, quickstartSnippet());
    // TOLLGATE_TOKEN as the Quick start mints it.
    const minted = await runTollgate(['token', '--user', 'you@acme.dev', '--agent', 'notebook', '--data-dir', proxy.dataDir]);
    assert.equal(minted.code, 0, minted.stderr);
    const env = { PATH: process.env.PATH ?? '', HOME: dir, TOLLGATE_TOKEN: minted.stdout.trim(), TOLLGATE_PROXY_URL: proxy.url };
    const { stdout } = await promisify(execFile)(process.execPath, [file], { cwd: dir, env, timeout: 60_000 });
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 25, stdout);
    const ok = lines.filter((l) => /^\d+ ok /.test(l));
    const refused = lines.filter((l) => /^\d+ refused 429 /.test(l));
    assert.equal(ok.length, 20, stdout);
    assert.equal(refused.length, 5, stdout);
    assert.match(refused[0]!, /^21 refused 429 Tollgate refused this request: limit 'agent-burst' .*for agent:you@acme\.dev\/notebook \(you@acme\.dev\): 20 of 20 requests used; this request needs 1 request; /);
    // Nothing was retried: 20 calls reached the upstream, each refusal was answered by the proxy.
    assert.equal(mock.seen.length, 20);
  });
});
