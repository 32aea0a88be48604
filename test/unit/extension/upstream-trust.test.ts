import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { approvalQuestion, awaitingApproval, isOfficialUpstream, keyEnvironment, planUpstreamKeys, policyFileFor, samePlans, UpstreamApprovals, upstreamOrigin, workspaceId } from '../../../src/extension/core/upstream-trust';
import { WITHHELD_KEYS_ENV } from '../../../src/pipeline/missing-key';

const key = ['sk', 'stored', 'Zq81Lw0Pm3Xk'].join('-');
const inheritedKey = ['sk', 'inherited', 'Ab12Cd34Ef56'].join('-');

describe('where an upstream key may go (upstream-trust)', () => {
  it('knows each provider\'s own API host, over https on the default port only', () => {
    assert.equal(isOfficialUpstream('openai', 'openai', 'https://api.openai.com'), true);
    assert.equal(isOfficialUpstream('anthropic', 'anthropic', 'https://api.anthropic.com/'), true);
    assert.equal(isOfficialUpstream('gemini', 'gemini', 'https://generativelanguage.googleapis.com'), true);
    assert.equal(isOfficialUpstream('azure-openai', 'azure-openai', 'https://my-team.openai.azure.com'), true);
    assert.equal(isOfficialUpstream('openai', 'openai', 'http://api.openai.com'), false, 'a key never travels in the clear');
    assert.equal(isOfficialUpstream('openai', 'openai', 'https://api.openai.com:8443'), false);
    assert.equal(isOfficialUpstream('openai', 'openai', 'https://api.openai.com@evil.example'), false);
    assert.equal(isOfficialUpstream('openai', 'openai', 'https://x:y@api.openai.com'), false);
    assert.equal(isOfficialUpstream('openai', 'openai', 'https://api.openai.com.evil.example'), false);
    assert.equal(isOfficialUpstream('openai', 'openai', 'http://127.0.0.1:8080'), false);
    assert.equal(isOfficialUpstream('azure-openai', 'azure-openai', 'https://openai.azure.com.evil.example'), false);
    assert.equal(isOfficialUpstream('azure-openai', 'azure-openai', 'https://a.b.openai.azure.com'), false);
    assert.equal(isOfficialUpstream('constructor', 'toString', 'https://api.openai.com'), false);
    assert.equal(isOfficialUpstream('openai', 'openai', 'not a url'), false);
  });

  it('judges by the provider\'s name when it names a provider, so one provider\'s key never goes to another\'s host', () => {
    assert.equal(isOfficialUpstream('openai', 'anthropic', 'https://api.anthropic.com'), false);
    assert.equal(isOfficialUpstream('team-openai', 'openai', 'https://api.openai.com'), true, 'another name judged by its style');
  });

  it('plans each provider\'s key: official, approved for this workspace, or withheld', () => {
    const providers = [
      { name: 'openai', style: 'openai', upstream: 'https://api.openai.com', keyEnv: 'OPENAI_API_KEY' },
      { name: 'anthropic', style: 'anthropic', upstream: 'https://gateway.example', keyEnv: 'ANTHROPIC_API_KEY' },
      { name: 'local', style: 'openai', upstream: 'http://127.0.0.1:11434' },
    ];
    const plans = planUpstreamKeys(providers, { openai: 'http://127.0.0.1:9999/' }, [{ provider: 'anthropic', origin: 'https://gateway.example', approvedAt: '2026-01-01T00:00:00.000Z' }]);
    assert.deepEqual(
      plans.map((p) => [p.provider, p.origin, p.verdict]),
      [['openai', 'http://127.0.0.1:9999', 'unapproved'], ['anthropic', 'https://gateway.example', 'approved']],
      'the setting\'s override is where calls go; a provider without a key needs no approval',
    );
    const approvedElsewhere = planUpstreamKeys(providers, {}, [{ provider: 'openai', origin: 'https://gateway.example', approvedAt: '' }]);
    assert.equal(approvedElsewhere.find((p) => p.provider === 'anthropic')?.verdict, 'unapproved', 'an approval is for one provider and one origin');
  });

  it('gives the proxy no key at all for an unapproved upstream, not even one the editor inherited, and says why', () => {
    const plans = planUpstreamKeys(
      [
        { name: 'openai', style: 'openai', upstream: 'https://api.openai.com', keyEnv: 'OPENAI_API_KEY' },
        { name: 'anthropic', style: 'anthropic', upstream: 'http://127.0.0.1:4000', keyEnv: 'ANTHROPIC_API_KEY' },
        // A workspace's bundle may name any variable as its key.
        { name: 'evil', style: 'openai', upstream: 'https://collector.example', keyEnv: 'GITHUB_TOKEN' },
      ],
      {},
      [],
    );
    const inherited = { PATH: '/usr/bin', OPENAI_API_KEY: inheritedKey, ANTHROPIC_API_KEY: inheritedKey, GITHUB_TOKEN: inheritedKey, [WITHHELD_KEYS_ENV]: '{"stale":"x"}' };
    const stored = new Map([['openai', key], ['anthropic', key]]);
    const env = keyEnvironment(plans, inherited, stored);
    assert.equal(env.OPENAI_API_KEY, key, 'a stored key wins over the inherited one');
    assert.equal(env.ANTHROPIC_API_KEY, undefined);
    assert.equal(env.GITHUB_TOKEN, undefined);
    assert.equal(env.PATH, '/usr/bin');
    assert.ok(!Object.values(env).some((v) => v === inheritedKey));
    assert.deepEqual(JSON.parse(env[WITHHELD_KEYS_ENV]!), { anthropic: 'http://127.0.0.1:4000', evil: 'https://collector.example' });
    assert.deepEqual(awaitingApproval(plans, inherited, stored).map((p) => [p.plan.provider, p.storedFor]), [['anthropic', 'anthropic'], ['evil', undefined]]);
    assert.deepEqual(awaitingApproval(plans, {}, new Map()), [], 'no key, nothing to ask about');
    assert.equal(keyEnvironment(planUpstreamKeys([], {}, []), inherited, stored)[WITHHELD_KEYS_ENV], undefined);
  });

  it('withholds a variable an unapproved upstream reads even when an official one reads it too', () => {
    // A bundle that names the OpenAI key's variable for a second provider of its own choosing.
    const plans = planUpstreamKeys(
      [
        { name: 'sneaky', style: 'openai', upstream: 'https://collector.example', keyEnv: 'OPENAI_API_KEY' },
        { name: 'openai', style: 'openai', upstream: 'https://api.openai.com', keyEnv: 'OPENAI_API_KEY' },
      ],
      {},
      [],
    );
    const env = keyEnvironment(plans, {}, new Map([['openai', key]]));
    assert.equal(env.OPENAI_API_KEY, undefined);
    const [pending] = awaitingApproval(plans, {}, new Map([['openai', key]]));
    assert.equal(pending?.plan.provider, 'sneaky');
    assert.equal(pending?.storedFor, 'openai', 'the question names whose key it is');
    assert.match(approvalQuestion(pending!).message, /^Send your openai API key to collector\.example\?$/);
  });

  it('asks a question that names the host, the provider and where the key comes from', () => {
    const [plan] = planUpstreamKeys([{ name: 'openai', style: 'openai', upstream: 'http://127.0.0.1:4321', keyEnv: 'OPENAI_API_KEY' }], {}, []);
    const stored = approvalQuestion({ plan: plan!, storedFor: 'openai' });
    assert.equal(stored.message, 'Send your openai API key to 127.0.0.1:4321?');
    assert.match(stored.detail, /sends openai calls to http:\/\/127\.0\.0\.1:4321, not to api\.openai\.com/);
    assert.match(stored.detail, /Revoke Upstream Host Approvals/);
    assert.equal(approvalQuestion({ plan: plan! }).message, 'Send the key in OPENAI_API_KEY to 127.0.0.1:4321?');
  });

  it('tells a policy that moves a key elsewhere from one that does not', () => {
    const openai = (upstream: string): Parameters<typeof planUpstreamKeys>[0] => [{ name: 'openai', style: 'openai', upstream, keyEnv: 'OPENAI_API_KEY' }];
    const a = planUpstreamKeys(openai('https://api.openai.com'), {}, []);
    assert.equal(samePlans(a, planUpstreamKeys(openai('https://api.openai.com/'), {}, [])), true);
    assert.equal(samePlans(a, planUpstreamKeys(openai('https://collector.example'), {}, [])), false);
    assert.equal(samePlans(a, planUpstreamKeys([{ name: 'openai', style: 'openai', upstream: 'https://api.openai.com', keyEnv: 'GITHUB_TOKEN' }], {}, [])), false);
  });

  it('in an untrusted workspace takes no policy from the workspace', () => {
    const exists = (f: string): boolean => f === path.join('/w', 'tollgate.yaml') || f === path.join('/w', 'team.yaml');
    assert.equal(policyFileFor(true, '', ['/w'], '/ref.yaml', exists), path.join('/w', 'tollgate.yaml'));
    assert.equal(policyFileFor(true, 'team.yaml', ['/w'], '/ref.yaml', exists), path.join('/w', 'team.yaml'));
    assert.equal(policyFileFor(false, '', ['/w'], '/ref.yaml', exists), '/ref.yaml');
    assert.equal(policyFileFor(false, 'team.yaml', ['/w'], '/ref.yaml', exists), '/ref.yaml', 'a relative path would resolve into the workspace');
    assert.equal(policyFileFor(false, '/home/me/team.yaml', ['/w'], '/ref.yaml', exists), '/home/me/team.yaml', 'the person\'s own absolute path');
  });

  it('names a workspace by its workspace file, else its folders in any order', () => {
    assert.equal(workspaceId(['file:///b', 'file:///a']), workspaceId(['file:///a', 'file:///b']));
    assert.notEqual(workspaceId(['file:///a']), workspaceId(['file:///b']));
    assert.equal(workspaceId(['file:///a'], 'file:///w.code-workspace'), 'file:///w.code-workspace');
    assert.equal(upstreamOrigin('HTTP://Gateway.Example:80/v1'), 'http://gateway.example');
  });

  it('remembers approvals per workspace in one file, revocable, and a damaged file approves nothing', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'approvals-'));
    try {
      const file = path.join(dir, 'upstream-approvals.json');
      const a = new UpstreamApprovals(file);
      assert.deepEqual(a.list('w1'), []);
      a.approve('w1', 'openai', 'http://127.0.0.1:9', Date.UTC(2026, 0, 2));
      a.approve('w1', 'openai', 'http://127.0.0.1:9', Date.UTC(2026, 0, 3));
      a.approve('w2', 'anthropic', 'https://gw.example', 0);
      // Another window's instance sees the same file.
      const b = new UpstreamApprovals(file);
      assert.deepEqual(b.list('w1'), [{ provider: 'openai', origin: 'http://127.0.0.1:9', approvedAt: '2026-01-03T00:00:00.000Z' }]);
      assert.equal(b.list('w2').length, 1);
      assert.equal(b.revoke('w1', [{ provider: 'openai', origin: 'http://127.0.0.1:9' }]), 1);
      assert.deepEqual(a.list('w1'), []);
      assert.equal(a.list('w2').length, 1, 'other workspaces keep theirs');
      assert.equal(fs.statSync(file).mode & 0o077, 0, 'owner-only');
      fs.writeFileSync(file, '{"version":1,"workspaces":{"w1":[{"provider":"openai"}]');
      assert.deepEqual(a.list('w1'), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the extension in an untrusted workspace (package.json)', () => {
  it('declares limited support and ignores the workspace\'s values of every setting that picks a policy, an upstream, a data dir or an identity', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as {
      capabilities?: { untrustedWorkspaces?: { supported: boolean | 'limited'; restrictedConfigurations?: string[]; description?: string } };
      contributes: { commands: Array<{ command: string }> };
    };
    const untrusted = pkg.capabilities?.untrustedWorkspaces;
    assert.equal(untrusted?.supported, 'limited');
    assert.deepEqual([...(untrusted?.restrictedConfigurations ?? [])].sort(), ['tollgate.policyPath', 'tollgate.proxy.dataDir', 'tollgate.proxy.upstreams', 'tollgate.user']);
    assert.ok(untrusted?.description);
    for (const id of ['tollgate.approveUpstreamHosts', 'tollgate.revokeUpstreamHosts']) assert.ok(pkg.contributes.commands.some((c) => c.command === id), id);
  });
});
