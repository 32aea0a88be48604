import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { callerIdentity } from '../../../src/engine/identity/claims';
import type { Identity } from '../../../src/engine/identity/identity';
import { IdentityError } from '../../../src/engine/identity/identity';
import { mintSessionToken, TokenVerifier } from '../../../src/engine/identity/tokens';
import { Engine } from '../../../src/engine/decide';
import type { Policy } from '../../../src/engine/policy/model';
import type { CallPreview } from '../../../src/preview/estimate';
import { modelCallFor, previewCall } from '../../../src/preview/estimate';
import type { FoundCall } from '../../../src/preview/found-call';
import { findJsCalls } from '../../../src/preview/js-finder';
import { previewIdentity } from '../../../src/preview/preview-identity';
import { MemoryStore } from '../../../src/store/memory-store';
import { loadSessionKeys } from '../../../src/store/session-key';
import type { SessionKeys } from '../../../src/engine/identity/tokens';
import { NOW, policyFrom } from '../../helpers/policy';
import { rolesBundle } from '../../helpers/roles-bundle';

// The preview and the proxy on one bundle whose roles come from the bundle, from an identity
// provider's claims and whose limits have exceptions: for every person, token and call, the
// preview's verdict is the decision the proxy's engine makes for the identity the proxy resolves.

const HOUR = 3_600_000;
const MAX_COUNT = 12;

const source = (model: string): string =>
  `import OpenAI from 'openai';\nconst client = new OpenAI();\nexport const answer = () => client.chat.completions.create({ model: '${model}', max_tokens: 5, messages: [{ role: 'user', content: 'Summarise this in one line.' }] });\n`;

/** The proxy's side: the verifier checks the token, then the pipeline's resolution, header included. */
function proxyIdentity(policy: Policy, verifier: TokenVerifier, token: string, header: string | undefined): Promise<Identity> {
  return callerIdentity(policy, token, header, (t) => verifier.verify(t, NOW));
}

/** What the proxy's engine does with `n` such calls in a row from a fresh store: the first decision, and how many pass before the first refusal. */
async function proxyDecisions(policy: Policy, identity: Identity, call: FoundCall, model: string): Promise<{ entitled: boolean; fits: number; rule?: string }> {
  const engine = new Engine(policy, new MemoryStore());
  const mc = modelCallFor(call, model, { policy, identity, now: NOW });
  const first = await engine.decide({ identity, call: mc }, NOW);
  if (first.refusal === 'entitlement') return { entitled: false, fits: 0 };
  let fits = first.outcome === 'refuse' ? 0 : 1;
  let rule = first.outcome === 'refuse' ? (first.rule ?? undefined) : undefined;
  while (rule === undefined && fits < MAX_COUNT) {
    const d = await engine.decide({ identity, call: mc }, NOW);
    if (d.outcome === 'refuse') rule = d.rule ?? undefined;
    else fits++;
  }
  return { entitled: true, fits, rule };
}

describe('quota preview: identity resolved as the proxy resolves it', () => {
  const bundle = rolesBundle();
  const policy = policyFrom(bundle.text);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-preview-id-'));
  let keys: SessionKeys;
  let verifier: TokenVerifier;
  const calls = new Map<string, FoundCall>();
  const callFor = (model: string): FoundCall => calls.get(model)!;

  before(async () => {
    keys = loadSessionKeys(dir);
    verifier = TokenVerifier.create(policy, keys);
    for (const model of ['gpt-4o', 'gpt-4o-mini', 'o3-mini', 'gpt-4.1']) {
      const [call] = await findJsCalls(source(model), 'call.ts');
      assert.ok(call, `the call to ${model} is found`);
      calls.set(model, call);
    }
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The editor's own token for a person: a session token naming only them and the editor's agent. */
  const editorToken = (user: string, agent = 'default'): Promise<string> => mintSessionToken(keys, { user, agent, ttlMs: HOUR, now: NOW });

  async function preview(token: string, model: string, header?: string): Promise<CallPreview> {
    return previewCall(callFor(model), { policy, identity: await previewIdentity(policy, token, header), now: NOW, maxCount: MAX_COUNT });
  }

  it('previews gpt-4o as entitled for bob, whose role comes from the bundle, as the proxy admits it', async () => {
    const token = await editorToken('bob@acme.dev');
    const p = await preview(token, 'gpt-4o');
    assert.equal(p.entitled, true);
    assert.match(p.lens[0]!, /^Tollgate: gpt-4o · entitled · /);
    assert.doesNotMatch(p.lens.join('\n'), /not entitled/);
    assert.deepEqual(p.diagnostics, []);
    const decided = await proxyDecisions(policy, await proxyIdentity(policy, verifier, token, undefined), callFor('gpt-4o'), 'gpt-4o');
    assert.equal(decided.entitled, true);
    // bob's own exception raises agent-burst to 5: the preview counts with it, as the proxy does.
    assert.deepEqual({ fits: p.capacity?.fits, rule: p.capacity?.rule }, { fits: 5, rule: 'agent-burst' });
    assert.deepEqual({ fits: decided.fits, rule: decided.rule }, { fits: 5, rule: 'agent-burst' });
  });

  it('previews gpt-4o as refused for a person without the role, as the proxy refuses it', async () => {
    const token = await editorToken('carol@acme.dev');
    const p = await preview(token, 'gpt-4o');
    assert.equal(p.entitled, false);
    assert.equal(p.lens[0], 'Tollgate: gpt-4o · not entitled for carol@acme.dev (use gpt-4o-mini)');
    assert.equal((await proxyDecisions(policy, await proxyIdentity(policy, verifier, token, undefined), callFor('gpt-4o'), 'gpt-4o')).entitled, false);
  });

  it('reads an identity provider\'s token through the claims the bundle names: person, roles, tenant and agent', async () => {
    const token = await bundle.idpToken({ upn: 'Dana@ACME.dev', groups: ['data-science', 42], org: 'beta', workload: 'batch-eval', email: 'mallory@acme.dev', roles: ['ml-engineers'] }, NOW);
    const id = await previewIdentity(policy, token);
    assert.deepEqual({ user: id.user, roles: id.roles, tenant: id.tenant, agent: id.agent, issuer: id.issuer }, {
      user: 'dana@acme.dev', roles: ['data-science'], tenant: 'beta', agent: 'batch-eval', issuer: 'https://idp.acme.dev',
    });
    assert.deepEqual(id, await proxyIdentity(policy, verifier, token, undefined));
    const p = await preview(token, 'gpt-4o');
    assert.equal(p.entitled, true, 'data-science, from the groups claim, may use gpt-4o');
    // The tenant's window of 2 refuses before the agent's burst (7, from the batch-eval exception).
    assert.deepEqual({ fits: p.capacity?.fits, rule: p.capacity?.rule }, { fits: 2, rule: 'beta-tenant' });
    assert.equal((await preview(token, 'o3-mini')).entitled, false, 'a roles claim the bundle does not read grants nothing');
  });

  it('gives an agent exception to the agent a token vouches for, never to one an x-tollgate-agent header names', async () => {
    const vouched = await editorToken('carol@acme.dev', 'batch-eval');
    const asserted = await editorToken('carol@acme.dev');
    const byClaim = await preview(vouched, 'gpt-4o-mini');
    const byHeader = await preview(asserted, 'gpt-4o-mini', 'batch-eval');
    assert.equal(byClaim.capacity?.fits, 7);
    assert.equal(byHeader.capacity?.fits, 3);
    assert.equal((await proxyDecisions(policy, await proxyIdentity(policy, verifier, vouched, undefined), callFor('gpt-4o-mini'), 'gpt-4o-mini')).fits, 7);
    assert.equal((await proxyDecisions(policy, await proxyIdentity(policy, verifier, asserted, 'batch-eval'), callFor('gpt-4o-mini'), 'gpt-4o-mini')).fits, 3);
  });

  it('applies no exception past its expiry', async () => {
    const p = await preview(await editorToken('alice@acme.dev'), 'gpt-4o-mini');
    assert.equal(p.capacity?.fits, 3, 'alice\'s campaign exception expired on 2026-01-01');
  });

  it('refuses what the proxy refuses for what a token says (no person, a bad agent, no JWT), and leaves the signature to the proxy', async () => {
    const reason = (p: Promise<unknown>): Promise<string> => p.then(() => 'accepted', (err: unknown) => (IdentityError.is(err) ? err.reason : `threw ${String(err)}`));
    const untrusted = await rolesBundle().idpToken({ upn: 'bob@acme.dev' }, NOW);
    const nobody = await bundle.idpToken({ email: 'bob@acme.dev' }, NOW);
    const badAgent = await bundle.idpToken({ upn: 'bob@acme.dev', workload: 'has spaces' }, NOW);
    const good = await editorToken('bob@acme.dev');
    const cases: Array<[string, string | undefined, string]> = [
      [nobody, undefined, 'missing-user-claim'],
      [badAgent, undefined, 'invalid-agent'],
      [good, 'not an agent!', 'invalid-agent'],
      ['not a token', undefined, 'malformed'],
    ];
    for (const [token, header, expected] of cases) {
      assert.equal(await reason(previewIdentity(policy, token, header)), expected);
      assert.equal(await reason(proxyIdentity(policy, verifier, token, header)), expected);
    }
    // Signed by a key the bundle does not hold: the preview, which checks no signature, reads the
    // person; the proxy refuses. The preview labels the editor's own token, which the proxy checks.
    assert.equal(await reason(proxyIdentity(policy, verifier, untrusted, undefined)), 'bad-signature');
    assert.equal(await reason(previewIdentity(policy, undefined)), 'missing');
  });

  it('previews every call as refused, with the proxy\'s reason, for a token of an issuer the bundle does not trust', async () => {
    const other = generateKeyPairSync('ed25519');
    const token = await new SignJWT({ upn: 'bob@acme.dev', email: 'bob@acme.dev' }).setProtectedHeader({ alg: 'EdDSA' }).setIssuer('https://login.example')
      .setAudience('tollgate').setIssuedAt(NOW / 1000).setExpirationTime(NOW / 1000 + 3600).sign(other.privateKey);
    const refusal = await proxyIdentity(policy, verifier, token, undefined).then(() => undefined, (err: unknown) => err);
    assert.ok(IdentityError.is(refusal, 'unknown-issuer'), String(refusal));
    const identity = await previewIdentity(policy, token).catch((err: unknown) => err);
    assert.ok(IdentityError.is(identity, 'unknown-issuer'), String(identity));
    const p = await previewCall(callFor('gpt-4o'), { policy, identity, now: NOW });
    assert.equal(p.lens[0], `Tollgate: gpt-4o · refused: ${refusal.message}`);
    assert.equal(p.refusal?.kind, 'identity');
    assert.equal(p.entitled, undefined, 'no entitlement is decided for nobody');
  });

  it('agrees with the proxy\'s engine for any person, token, agent and model (fast-check)', async function () {
    this.timeout(120_000);
    const seen = { entitled: 0, refused: 0, capacities: new Set<string>(), failures: 0 };
    const person = fc.record({
      user: fc.constantFrom('bob@acme.dev', ' Bob@ACME.dev', 'alice@acme.dev', 'carol@acme.dev', 'erin@acme.dev', 'dana@acme.dev'),
      idp: fc.boolean(),
      roles: fc.subarray(['ml-engineers', 'data-science', 'interns', 'marketing-analysts']),
      agent: fc.option(fc.constantFrom('notebook', 'batch-eval', 'bad agent'), { nil: undefined }),
      tenant: fc.option(fc.constantFrom('acme', 'beta'), { nil: undefined }),
      header: fc.option(fc.constantFrom('batch-eval', 'ci', 'notebook', 'bad/agent!'), { nil: undefined }),
      model: fc.constantFrom('gpt-4o', 'gpt-4o-mini', 'o3-mini', 'gpt-4.1'),
    });
    await fc.assert(
      fc.asyncProperty(person, async (p) => {
        const token = p.idp
          ? await bundle.idpToken({ upn: p.user, groups: p.roles, ...(p.tenant ? { org: p.tenant } : {}), ...(p.agent ? { workload: p.agent } : {}) }, NOW)
          : await mintSessionToken(keys, { user: p.user, agent: p.agent === 'bad agent' ? undefined : p.agent, roles: p.roles, tenant: p.tenant, ttlMs: HOUR, now: NOW });
        const proxy = await proxyIdentity(policy, verifier, token, p.header).then((id) => ({ id }), (err: unknown) => ({ err: IdentityError.is(err) ? err.reason : String(err) }));
        const previewed = await previewIdentity(policy, token, p.header).then((id) => ({ id }), (err: unknown) => ({ err: IdentityError.is(err) ? err.reason : String(err) }));
        assert.deepEqual(previewed, proxy, 'the same identity, or the same refusal');
        if (!('id' in proxy)) {
          seen.failures++;
          return;
        }
        const call = callFor(p.model);
        const shown = await previewCall(call, { policy, identity: (previewed as { id: Identity }).id, now: NOW, maxCount: MAX_COUNT });
        const decided = await proxyDecisions(policy, proxy.id, call, p.model);
        assert.equal(shown.entitled, decided.entitled, `entitlement of ${proxy.id.user} (${proxy.id.roles.join(',')}) to ${p.model}`);
        if (decided.entitled) {
          assert.deepEqual({ fits: shown.capacity?.fits, rule: shown.capacity?.rule }, { fits: decided.fits, rule: decided.rule }, 'how many such calls pass now, and which rule refuses the next');
          seen.entitled++;
          seen.capacities.add(`${decided.fits} ${decided.rule}`);
        } else {
          assert.match(shown.lens[0]!, new RegExp(`not entitled for ${proxy.id.user.replace('.', '\\.')}`));
          seen.refused++;
        }
      }),
      { numRuns: 150 },
    );
    // The property saw both verdicts, several capacities (exceptions and the tenant window at work) and refused tokens.
    assert.ok(seen.entitled > 0 && seen.refused > 0 && seen.failures > 0, JSON.stringify({ ...seen, capacities: [...seen.capacities] }));
    assert.ok(seen.capacities.size >= 3, [...seen.capacities].join('; '));
  });
});
