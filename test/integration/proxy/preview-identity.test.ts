import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { mintSessionToken } from '../../../src/engine/identity/tokens';
import { loadPolicy } from '../../../src/engine/policy/loader';
import type { Policy } from '../../../src/engine/policy/model';
import { PreviewCache } from '../../../src/preview/document-preview';
import type { CallPreview } from '../../../src/preview/estimate';
import { previewIdentity } from '../../../src/preview/preview-identity';
import { loadSessionKeys } from '../../../src/store/session-key';
import { MockUpstream } from '../../helpers/mock-upstream';
import { startTestProxy } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';
import { rolesBundle } from '../../helpers/roles-bundle';
import type { RolesBundle } from '../../helpers/roles-bundle';

// The quota preview and the running proxy on one bundle: what the CodeLens over a call says for a
// person is what the proxy answers when that person's SDK makes the call, for roles from the
// bundle's identity.roles and from an identity provider's claims alike.

const MAX_COUNT = 20;

/** The file a developer has open: one chat completion through the official SDK. */
const source = (model: string): string =>
  [
    "import OpenAI from 'openai';",
    'const client = new OpenAI();',
    `export const ask = (text: string) => client.chat.completions.create({ model: '${model}', max_tokens: 5, messages: [{ role: 'user', content: 'Summarise: ' + text }] });`,
    '',
  ].join('\n');

describe('the quota preview agrees with the running proxy on who a person is', () => {
  let mock: MockUpstream;
  let bundle: RolesBundle;
  let policy: Policy;
  let proxy: TestProxy;
  const at = Date.now();

  before(async () => {
    mock = new MockUpstream();
    const upstream = await mock.start();
    bundle = rolesBundle(upstream);
    const loaded = loadPolicy(bundle.text, at);
    assert.ok(loaded.ok);
    policy = loaded.policy;
    // Decisions at one instant: no bucket refills between the calls, however slow the machine.
    proxy = await startTestProxy(upstream, { policyText: bundle.text, clock: () => at });
  });
  after(async () => {
    await proxy?.stop();
    await mock?.stop();
  });

  /** The editor's own token for a person, as it mints one with the data dir's session key. */
  const editorToken = (user: string): Promise<string> => mintSessionToken(loadSessionKeys(proxy.dataDir), { user, agent: 'vscode', ttlMs: 3_600_000, now: at });

  /** The CodeLens the editor shows over `model` for the person holding `token`, computed as the editor computes it. */
  async function lensFor(token: string, model: string): Promise<CallPreview> {
    const identity = await previewIdentity(policy, token);
    const doc = { uri: `file:///work/${model}.ts`, version: 1, languageId: 'typescript', fileName: `${model}.ts`, getText: () => source(model) };
    const [p] = await new PreviewCache().previews(doc, { policy, identity, now: at, maxCount: MAX_COUNT }, 'k');
    assert.ok(p, 'the call is previewed');
    return p;
  }

  /** Makes the call with the official SDK until the proxy refuses one (at most MAX_COUNT + 1 calls). */
  async function callUntilRefused(token: string, model: string): Promise<{ admitted: number; refusal?: InstanceType<typeof OpenAI.APIError> }> {
    const client = new OpenAI({ apiKey: token, baseURL: `${proxy.url}/openai/v1`, maxRetries: 0 });
    for (let admitted = 0; admitted <= MAX_COUNT; admitted++) {
      const r = await client.chat.completions.create({ model, max_tokens: 5, messages: [{ role: 'user', content: 'Summarise: the quarter' }] }).catch((e: unknown) => e);
      if (r instanceof OpenAI.APIError) return { admitted, refusal: r };
      if (r instanceof Error) throw r;
    }
    return { admitted: MAX_COUNT + 1 };
  }

  it('bob, whose role comes from identity.roles: the lens says entitled and how many fit, and the proxy admits exactly that many', async () => {
    // The editor's own token names bob and nothing else: his role is the bundle's.
    const token = await editorToken('bob@acme.dev');
    const lens = await lensFor(token, 'gpt-4o');
    assert.equal(lens.entitled, true, lens.lens.join(' | '));
    assert.doesNotMatch(lens.lens.join('\n'), /not entitled/);
    assert.ok(lens.capacity && !lens.capacity.capped, 'a limit is in reach');
    const served = await callUntilRefused(token, 'gpt-4o');
    assert.ok(served.admitted > 0, 'the proxy admits bob\'s gpt-4o');
    assert.equal(served.admitted, lens.capacity.fits, `the lens said: ${lens.lens[0]}`);
    assert.ok(served.refusal instanceof OpenAI.RateLimitError, String(served.refusal));
    assert.equal(served.refusal.headers?.get('x-tollgate-rule'), lens.capacity.rule);
    assert.equal(mock.seen.filter((r) => r.headers['x-tollgate-user'] === 'bob@acme.dev').length, served.admitted, 'bob\'s admitted calls reached the provider');
  });

  it('carol, without the role: the lens says not entitled and names the model she may use, and the proxy refuses the call', async () => {
    const token = await editorToken('carol@acme.dev');
    const lens = await lensFor(token, 'gpt-4o');
    assert.equal(lens.entitled, false);
    assert.equal(lens.lens[0], 'Tollgate: gpt-4o · not entitled for carol@acme.dev (use gpt-4o-mini)');
    const served = await callUntilRefused(token, 'gpt-4o');
    assert.equal(served.admitted, 0);
    assert.ok(served.refusal instanceof OpenAI.PermissionDeniedError, String(served.refusal));
    assert.match(served.refusal.message, /carol@acme\.dev is not entitled to model 'gpt-4o'/);
  });

  it('dana, whose role and tenant come from her identity provider\'s claims: the lens and the proxy agree on the model and on the tenant\'s limit', async () => {
    const token = await bundle.idpToken({ upn: 'dana@acme.dev', groups: ['data-science'], org: 'beta' }, at);
    const allowed = await lensFor(token, 'gpt-4o');
    assert.equal(allowed.entitled, true, allowed.lens.join(' | '));
    assert.equal(allowed.capacity?.rule, 'beta-tenant');
    const served = await callUntilRefused(token, 'gpt-4o');
    assert.equal(served.admitted, allowed.capacity.fits);
    assert.equal(served.refusal?.headers?.get('x-tollgate-rule'), 'beta-tenant');

    const outside = await lensFor(token, 'gpt-4.1');
    assert.equal(outside.entitled, false);
    const refused = await callUntilRefused(token, 'gpt-4.1');
    assert.ok(refused.refusal instanceof OpenAI.PermissionDeniedError, String(refused.refusal));
  });
});
