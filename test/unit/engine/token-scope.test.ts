import assert from 'node:assert/strict';
import type { Identity } from '../../../src/engine/identity/identity';
import type { Revocation } from '../../../src/engine/identity/revocation';
import { parseRevocation, revocationJson, RevocationSet, revokes } from '../../../src/engine/identity/revocation';
import { parseScopeClaim, scopeAllowsModel, scopeAllowsRoute, ScopeError, validateScope } from '../../../src/engine/identity/token-scope';

const T0 = Date.parse('2026-11-27T12:00:00Z');

function identity(o: Partial<Identity> & { issuedAt?: number; id?: string; kid?: string; tokenAgent?: string } = {}): Identity {
  return {
    user: o.user ?? 'ana@acme.dev', agent: o.agent ?? 'ci', session: o.session ?? 's1', roles: [], issuer: 'tollgate',
    token: { id: o.id ?? 't1', issuedAt: 'issuedAt' in o ? o.issuedAt : T0, expiresAt: T0 + 3_600_000, kid: o.kid ?? 'k1', agent: o.tokenAgent ?? 'ci' },
  };
}

function revocation(o: Partial<Revocation>): Revocation {
  return { id: 'rv_1', target: 'user', value: 'ana@acme.dev', revokedAt: T0 + 1000, expiresAt: T0 + 86_400_000, ...o };
}

describe('token scope claim (tollgate_scope)', () => {
  it('reads models, routes, tools and max_usd, and narrows by glob', () => {
    const scope = parseScopeClaim({ models: ['gpt-4o-mini', 'claude-*'], routes: ['/v1/chat/completions'], tools: ['Bash'], max_usd: 2 })!;
    assert.equal(scope.maxUsd, 2);
    assert.ok(scopeAllowsModel(scope, 'claude-haiku-4-5'));
    assert.ok(!scopeAllowsModel(scope, 'gpt-4o'));
    assert.ok(!scopeAllowsRoute(scope, '/v1/messages'));
    assert.equal(parseScopeClaim(undefined), undefined, 'no claim: unscoped');
  });

  it('refuses what it does not understand rather than ignoring it', () => {
    const hostile: unknown[] = [
      null, 'all', ['gpt-4o'], 42, {}, { models: 'gpt-4o' }, { models: [] }, { models: [1] }, { models: [''] }, { models: ['a\u0000b'] },
      { models: Array.from({ length: 65 }, () => 'm') }, { routes: ['x'.repeat(201)] }, { tools: ['*a*a*a*a*a*a*a*a*a'] },
      { max_usd: '5' }, { max_usd: -1 }, { max_usd: Number.NaN }, { models: ['m'], widen: true }, { __proto__: { models: ['*'] }, owner: 1 },
    ];
    for (const raw of hostile) assert.throws(() => parseScopeClaim(raw), (e: unknown) => ScopeError.is(e), JSON.stringify(raw));
  });

  it('checks a scope from the command line as a token would be read', () => {
    assert.equal(validateScope({}), undefined);
    assert.throws(() => validateScope({ models: [] }), ScopeError);
  });
});

describe('revocations', () => {
  it('a token revocation names one token, a key revocation what the key signed', () => {
    assert.ok(revokes(revocation({ target: 'token', value: 't1' }), identity()));
    assert.ok(!revokes(revocation({ target: 'token', value: 't2' }), identity()));
    assert.ok(revokes(revocation({ target: 'key', value: 'k1' }), identity()));
    assert.ok(!revokes(revocation({ target: 'key', value: 'k1' }), identity({ kid: 'k2' })));
  });

  it('a person, agent or session revocation covers tokens issued up to it, and tokens that state no iat', () => {
    const r = revocation({});
    assert.ok(revokes(r, identity({ issuedAt: T0 })));
    assert.ok(revokes(r, identity({ issuedAt: T0 + 1000 })), 'issued in the same instant');
    assert.ok(!revokes(r, identity({ issuedAt: T0 + 2000 })), 'issued after');
    assert.ok(revokes(r, identity({ issuedAt: undefined })), 'cannot show it came after');
    assert.ok(!revokes(r, identity({ user: 'bob@acme.dev' })));
    const agent = revocation({ target: 'agent', value: 'ci', user: 'ana@acme.dev' });
    assert.ok(revokes(agent, identity()));
    assert.ok(revokes(agent, identity({ agent: 'renamed' })), "the token's own agent claim counts, whatever the header says");
    assert.ok(!revokes(agent, identity({ user: 'bob@acme.dev' })), "only this person's agent");
    assert.ok(revokes(revocation({ target: 'agent', value: 'ci' }), identity({ user: 'bob@acme.dev' })), "an agent of everyone");
    assert.ok(revokes(revocation({ target: 'session', value: 's1' }), identity()));
  });

  it('keeps the later revocation under one field and finds it by the identity', () => {
    const set = new RevocationSet([revocation({ revokedAt: T0 + 5000 }), revocation({ id: 'rv_0', revokedAt: T0 - 5000 })]);
    assert.equal(set.size, 1);
    assert.equal(set.match(identity({ issuedAt: T0 }))?.id, 'rv_1');
    assert.equal(set.match({ ...identity(), token: undefined }), undefined, 'an anonymous caller has no token to revoke');
  });

  it('reads back what it writes, and refuses a malformed entry', () => {
    const r = revocation({ target: 'agent', value: 'ci', user: 'ana@acme.dev', reason: 'laptop lost' });
    assert.deepEqual(parseRevocation(JSON.parse(JSON.stringify(revocationJson(r)))), r);
    for (const bad of [null, [], { ...revocationJson(r), target: 'everyone' }, { ...revocationJson(r), revoked_at: 'yesterday' }, { ...revocationJson(r), value: '' }]) {
      assert.throws(() => parseRevocation(bad), JSON.stringify(bad));
    }
  });
});
