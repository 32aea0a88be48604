import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import OpenAI from 'openai';
import type { AuditRecord, RevocationRecord } from '../../../src/contracts/audit-records';
import { SESSION_ISSUER } from '../../../src/engine/identity/claims';
import { SESSION_AUDIENCE } from '../../../src/engine/identity/tokens';
import { readKeyRing } from '../../../src/store/session-key';
import { mintRegisteredToken } from '../../../src/store/token-registry';
import { runTollgate } from '../../helpers/cli';
import { MockUpstream } from '../../helpers/mock-upstream';
import { startTestProxy } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';

// A token's lifecycle through the official SDKs: minted with a scope by `tollgate token`, refused
// outside it (naming the token's scope, not the bundle), capped in USD over its life, revoked by
// `tollgate token revoke` from the next request, and signed by keys that `tollgate keys rotate`
// replaces; the proxy's JWKS verifies its tokens with jose.

const POLICY = `version: 1
name: token-lifecycle
providers:
  openai: { upstream: "http://127.0.0.1:9", style: openai, key_env: OPENAI_API_KEY }
  anthropic: { upstream: "http://127.0.0.1:9", style: anthropic, key_env: ANTHROPIC_API_KEY }
identity:
  required: true
prices:
  gpt-4o-mini: { input: 1000, output: 1000 }   # $0.001 a token: a cap is reached in a few calls
  gpt-4o: { input: 1000, output: 1000 }
  claude-haiku-4-5: { input: 1000, output: 1000 }
entitlements:
  default:
    models: ["*"]
    routes: [/v1/chat/completions, /v1/messages]
`;

async function cli(args: string[], dataDir: string): Promise<string> {
  const r = await runTollgate([...args, '--data-dir', dataDir]);
  assert.equal(r.code, 0, `tollgate ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

function openai(proxy: TestProxy, token: string): OpenAI {
  return new OpenAI({ apiKey: token, baseURL: `${proxy.url}/openai/v1`, maxRetries: 0 });
}

const chat = (o: OpenAI, model = 'gpt-4o-mini'): Promise<OpenAI.ChatCompletion> =>
  o.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });

/** The SDK error a call failed with: status, headers and message. */
async function refusal(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await call;
  } catch (err) {
    if (err instanceof OpenAI.APIError || err instanceof Anthropic.APIError) return err as InstanceType<typeof OpenAI.APIError>;
    throw err;
  }
  assert.fail('the call was admitted');
}

function tokenId(token: string): string {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti as string;
}

describe('token lifecycle through the official SDKs', () => {
  let mock: MockUpstream;
  let proxy: TestProxy;

  before(async () => {
    mock = new MockUpstream();
    proxy = await startTestProxy(await mock.start(), { policyText: POLICY });
  });
  after(async () => {
    await proxy.stop();
    await mock.stop();
  });

  describe('scoped tokens', () => {
    it('admits a call inside the scope and refuses one outside it, naming the token scope (403, x-tollgate-rule: token-scope)', async () => {
      const token = await cli(['token', '--user', 'ana@acme.dev', '--models', 'gpt-4o-mini', '--routes', '/v1/chat/completions'], proxy.dataDir);
      const client = openai(proxy, token);
      const ok = await chat(client);
      assert.equal(ok.choices[0]!.message.content, 'Hello from the mock');

      const model = await refusal(chat(client, 'gpt-4o'));
      assert.equal(model.status, 403);
      assert.equal(model.headers?.get?.('x-tollgate-rule') ?? (model.headers as unknown as Record<string, string>)['x-tollgate-rule'], 'token-scope');
      assert.match(model.message, /token [0-9a-f]{8} of ana@acme\.dev is scoped to models gpt-4o-mini; routes \/v1\/chat\/completions, which does not include model 'gpt-4o'/);
      assert.doesNotMatch(model.message, /entitled/, 'the bundle allows gpt-4o: the refusal is the token scope');

      const anthropic = new Anthropic({ apiKey: token, baseURL: `${proxy.url}/anthropic`, maxRetries: 0 });
      const route = await refusal(anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }));
      assert.equal(route.status, 403);
      assert.match(route.message, /does not include route \/v1\/messages/);
    });

    it('caps what a token spends over its life: refused with 429 and no retry-after once the next call would pass max_usd', async () => {
      const token = await cli(['token', '--user', 'cap@acme.dev', '--max-usd', '0.1', '--ttl', '1h'], proxy.dataDir);
      const client = openai(proxy, token);
      let admitted = 0;
      let refused: InstanceType<typeof OpenAI.APIError> | undefined;
      for (let i = 0; i < 30 && !refused; i++) {
        try {
          await chat(client);
          admitted++;
        } catch (err) {
          if (!(err instanceof OpenAI.APIError)) throw err;
          refused = err;
        }
      }
      assert.ok(admitted >= 1, 'calls inside the cap are admitted');
      assert.ok(refused, 'the cap refuses once reached');
      assert.equal(refused.status, 429);
      const headers = refused.headers as unknown as Headers;
      assert.equal(headers.get('x-tollgate-rule'), 'token-scope');
      assert.equal(headers.get('retry-after'), null, 'waiting does not make a lifetime cap larger');
      assert.match(refused.message, /scoped to at most .* spent over its lifetime/);
      const records = await proxy.records();
      const id = tokenId(token);
      const decisions = records.filter((r) => r.kind === 'decision' && r.limits.some((l) => l.key === `token:${id}`));
      const settled = records.filter((r): r is AuditRecord & { kind: 'settle'; usd: number; decision: string } => r.kind === 'settle' && decisions.some((d) => d.id === (r as { decision: string }).decision));
      const spent = settled.reduce((sum, r) => sum + r.usd, 0);
      assert.ok(spent > 0 && spent <= 0.1 + 1e-9, `spent ${spent} within the cap`);
    });

    it('refuses (401) a token whose scope claim is malformed: not an object, a huge list, an unknown field, a glob that backtracks', async () => {
      const ring = readKeyRing(proxy.dataDir);
      const sign = (scope: unknown): Promise<string> =>
        new SignJWT({ email: 'eve@acme.dev', tollgate_scope: scope })
          .setProtectedHeader({ alg: 'EdDSA', kid: ring.current.kid })
          .setIssuer(SESSION_ISSUER)
          .setAudience(SESSION_AUDIENCE)
          .setIssuedAt()
          .setExpirationTime('1h')
          .setJti('eve-1')
          .sign(ring.current.privateKey);
      const hostile: [unknown, RegExp][] = [
        ['everything', /not an object/],
        [{ models: Array.from({ length: 65 }, (_, i) => `m${i}`) }, /more than 64 entries/],
        [{ models: ['gpt-4o-mini'], admin: true }, /unknown scope field 'admin'/],
        [{ models: [] }, /empty list/],
        [{ models: ['*a*a*a*a*a*a*a*a*a*'] }, /more than 8 wildcards/],
        [{ max_usd: -1 }, /max_usd/],
      ];
      for (const [scope, why] of hostile) {
        const err = await refusal(chat(openai(proxy, await sign(scope))));
        assert.equal(err.status, 401, JSON.stringify(scope));
        assert.match(err.message, /tollgate_scope claim that cannot be read/);
        assert.match(err.message, why);
      }
      // A cap on a token that lives longer than its accumulator's horizon is refused as well.
      const long = await new SignJWT({ email: 'eve@acme.dev', tollgate_scope: { max_usd: 5 } })
        .setProtectedHeader({ alg: 'EdDSA', kid: ring.current.kid }).setIssuer(SESSION_ISSUER).setAudience(SESSION_AUDIENCE).setIssuedAt().setExpirationTime('3d').sign(ring.current.privateKey);
      assert.match((await refusal(chat(openai(proxy, long)))).message, /live at most 24 hours/);
    });
  });

  describe('revocation', () => {
    it('refuses a token revoked by id from the next request, records the revocation, and token list no longer shows it', async () => {
      const token = await cli(['token', '--user', 'rev@acme.dev', '--agent', 'ci'], proxy.dataDir);
      const other = await cli(['token', '--user', 'rev@acme.dev', '--agent', 'notebook'], proxy.dataDir);
      const client = openai(proxy, token);
      await chat(client);
      const listed = await cli(['token', 'list'], proxy.dataDir);
      const id = tokenId(token);
      assert.match(listed, new RegExp(`^${id}\\s+rev@acme\\.dev\\s+ci\\s+unscoped\\s+\\S+Z\\s+`, 'm'));

      const out = await cli(['token', 'revoke', '--id', id, '--reason', 'left on a shared screen'], proxy.dataDir);
      assert.match(out, /^revoked \(rv_[0-9a-f-]+\): 1 live token of this data dir is refused from the next request/);
      const err = await refusal(chat(client));
      assert.equal(err.status, 401);
      assert.match(err.message, new RegExp(`revoked.*token ${id}.*left on a shared screen`));
      await chat(openai(proxy, other));

      const records = await proxy.records();
      const rec = records.find((r): r is RevocationRecord => r.kind === 'revocation' && r.value === id);
      assert.ok(rec, 'the revocation is a ledger record');
      assert.deepEqual({ target: rec.target, source: rec.source, reason: rec.reason }, { target: 'token', source: 'data-dir', reason: 'left on a shared screen' });
      const json = (await cli(['token', 'list', '--format', 'json'], proxy.dataDir)).split('\n').map((l) => JSON.parse(l) as { id: string; last_used: string | null });
      assert.ok(!json.some((t) => t.id === id), 'a revoked token is not live');
      assert.ok(json.some((t) => t.id === tokenId(other)));
    });

    it('revokes every token of a person issued up to the revocation, and of an agent', async () => {
      const a = await cli(['token', '--user', 'dan@acme.dev', '--agent', 'ci'], proxy.dataDir);
      const b = await cli(['token', '--user', 'dan@acme.dev', '--agent', 'notebook'], proxy.dataDir);
      const c = await cli(['token', '--user', 'fay@acme.dev', '--agent', 'ci'], proxy.dataDir);
      await cli(['token', 'revoke', '--agent', 'ci', '--user', 'dan@acme.dev'], proxy.dataDir);
      assert.equal((await refusal(chat(openai(proxy, a)))).status, 401);
      await chat(openai(proxy, b));
      await chat(openai(proxy, c));
      await cli(['token', 'revoke', '--user', 'DAN@acme.dev'], proxy.dataDir);
      assert.equal((await refusal(chat(openai(proxy, b)))).status, 401);
      await chat(openai(proxy, c));
    });

    it('a revoked token with its kid changed is still refused (its signature no longer holds), and a kid naming no key is refused', async () => {
      const token = await cli(['token', '--user', 'kid@acme.dev'], proxy.dataDir);
      await cli(['token', 'revoke', '--id', tokenId(token)], proxy.dataDir);
      const [, payload, sig] = token.split('.');
      const forged = `${Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'JWT', kid: 'another-key' })).toString('base64url')}.${payload}.${sig}`;
      const err = await refusal(chat(openai(proxy, forged)));
      assert.equal(err.status, 401);
      assert.match(err.message, /names a signing key \(kid\) this proxy does not have/);
      const ring = readKeyRing(proxy.dataDir);
      const resigned = await new SignJWT({ email: 'kid@acme.dev' }).setProtectedHeader({ alg: 'EdDSA', kid: 'another-key' }).setIssuer(SESSION_ISSUER).setAudience(SESSION_AUDIENCE).setIssuedAt().setExpirationTime('1h').setJti(tokenId(token)).sign(ring.current.privateKey);
      assert.equal((await refusal(chat(openai(proxy, resigned)))).status, 401);
    });

    it('fails closed on a corrupted revocation list: tokens issued before it was written are refused with a clear reason, later ones admitted', async () => {
      // Issued a minute ago; the bad list is written (by its time stamp) half a minute ago.
      const { token: before } = await mintRegisteredToken(proxy.dataDir, { user: 'gus@acme.dev', ttlMs: 3_600_000, now: Date.now() - 60_000 });
      const file = path.join(proxy.dataDir, 'revocations.json');
      const good = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '{"version": 1, "revocations": []}';
      try {
        fs.writeFileSync(file, '{"version": 1, "revocations": [ {"id": "rv_x", "target": "everyone"');
        const written = Date.now() - 30_000;
        fs.utimesSync(file, written / 1000, written / 1000);
        const err = await refusal(chat(openai(proxy, before)));
        assert.equal(err.status, 401);
        assert.match(err.message, /revocation list cannot be read.*revocations\.json.*not JSON/);
        const after = await cli(['token', '--user', 'gus@acme.dev'], proxy.dataDir);
        await chat(openai(proxy, after));
        assert.match(proxy.logs(), /revocations: .*revocations\.json is not JSON/);
      } finally {
        fs.writeFileSync(file, good);
      }
      await chat(openai(proxy, before));
    });
  });

  describe('key rotation and the JWKS', () => {
    it('keeps the old key verifying its tokens after keys rotate, refuses them after --revoke-old, and the JWKS verifies with jose without any private parameter', async () => {
      const old = await cli(['token', '--user', 'kim@acme.dev'], proxy.dataDir);
      const oldKid = decodeProtectedHeader(old).kid;
      const rotated = await cli(['keys', 'rotate'], proxy.dataDir);
      assert.match(rotated, /^session key \S+ signs new tokens from now\n\S+: no longer signs; its tokens stay valid until they expire$/);
      const fresh = await cli(['token', '--user', 'kim@acme.dev'], proxy.dataDir);
      assert.notEqual(decodeProtectedHeader(fresh).kid, oldKid);
      await chat(openai(proxy, old));
      await chat(openai(proxy, fresh));

      const response = await fetch(`${proxy.url}/_tollgate/jwks.json`);
      assert.equal(response.status, 200);
      const text = await response.text();
      assert.doesNotMatch(text, /"d"\s*:/, 'no private parameter');
      const jwks = JSON.parse(text) as { keys: { kid: string; d?: string }[] };
      assert.deepEqual(new Set(jwks.keys.map((k) => k.kid)), new Set([oldKid, decodeProtectedHeader(fresh).kid]));
      const keySet = createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]);
      for (const t of [old, fresh]) {
        const { payload } = await jwtVerify(t, keySet, { issuer: SESSION_ISSUER, audience: SESSION_AUDIENCE });
        assert.equal(payload.email, 'kim@acme.dev');
      }

      await cli(['keys', 'rotate', '--revoke-old'], proxy.dataDir);
      for (const t of [old, fresh]) {
        const err = await refusal(chat(openai(proxy, t)));
        assert.equal(err.status, 401);
        assert.match(err.message, /revoked/);
      }
      await chat(openai(proxy, await cli(['token', '--user', 'kim@acme.dev'], proxy.dataDir)));
      const after = (await (await fetch(`${proxy.url}/_tollgate/jwks.json`)).json()) as { keys: { kid: string }[] };
      assert.equal(after.keys.length, 1, 'revoked keys leave the JWKS');
      assert.equal(after.keys[0]!.kid, readKeyRing(proxy.dataDir).current.kid);
    });
  });
});
