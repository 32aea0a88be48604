import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { formatIssue, loadPolicy } from '../../../src/engine/policy/loader';
import { policyJsonSchema } from '../../../src/engine/policy/schema';
import { registeredStyles } from '../../../src/providers/registry';
import { aliasBomb, bundleWithIssuer, NOW, positionOf, publicKeyField, referencePath, referenceText } from '../../helpers/policy';

function errorsOf(text: string): { line: number; column: number; message: string }[] {
  const r = loadPolicy(text, NOW);
  assert.equal(r.ok, false, 'expected the bundle to be rejected');
  return r.ok ? [] : r.errors.map((e) => ({ line: e.position.line, column: e.position.column, message: e.message }));
}

/** Replaces `from` with `to` and expects exactly one error, at the replaced value, matching `message`. */
function expectErrorAt(from: string, to: string, message: RegExp, offset = 0): void {
  assert.ok(referenceText.includes(from), `reference bundle holds '${from}'`);
  const broken = referenceText.replace(from, to);
  const errors = errorsOf(broken);
  // Text before the replaced value is unchanged, so the error sits where the original value was.
  const where = positionOf(referenceText, from, offset);
  assert.equal(errors.length, 1, `one error, got: ${JSON.stringify(errors)}`);
  assert.match(errors[0]!.message, message);
  assert.deepEqual({ line: errors[0]!.line, column: errors[0]!.column }, where);
}

describe('policy bundle loading', () => {
  it('loads the reference bundle with every section compiled', () => {
    const r = loadPolicy(referenceText, NOW);
    assert.ok(r.ok);
    if (!r.ok) return;
    assert.equal(r.policy.name, 'acme-ai-gateway');
    assert.deepEqual(r.policy.limits.map((l) => l.id), ['user-rate', 'agent-burst', 'user-tokens', 'pii-flow', 'marketing-cohort', 'tool-burst']);
    assert.equal(r.policy.limits[5]!.cost, 'tool_calls');
    assert.equal(r.policy.tools?.onUndeclared, 'strip');
    assert.deepEqual(r.policy.tools?.roles.get('ml-engineers'), ['*']);
    assert.equal(r.policy.identity.maxAgentsPerUser, 16);
    assert.deepEqual(r.policy.budgets.map((b) => b.id), ['user-daily', 'team-monthly']);
    const burst = r.policy.limits[1]!;
    assert.equal(burst.algorithm, 'token-bucket');
    if (burst.algorithm === 'token-bucket') assert.equal(burst.rate.perMs * 60_000, 60);
    assert.equal(r.policy.exceptions[0]!.expiresAt, Date.parse('2027-07-01T00:00:00Z'));
    assert.equal(r.policy.guards.maxCallsPerTrace, 50);
    assert.equal(r.policy.identity.roles.get('alice@acme.dev')![0], 'marketing-analysts');
    assert.equal(r.warnings.length, 0);
  });

  it('hashes the bundle text so a decision names the exact bundle', () => {
    const a = loadPolicy(referenceText, NOW);
    const b = loadPolicy(`${referenceText}\n# edited\n`, NOW);
    assert.ok(a.ok && b.ok);
    if (a.ok && b.ok) assert.notEqual(a.policy.hash, b.policy.hash);
  });

  it('rejects an unknown key at the key, suggesting the intended one', () => {
    expectErrorAt('burst: 20', 'burts: 20', /unknown key 'burts' \(did you mean 'burst'\?\)/);
  });

  it('rejects an unknown top-level section', () => {
    const errors = errorsOf(`${referenceText}\nlimitz: []\n`);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /unknown key 'limitz'.*'limits'/);
  });

  it('rejects a malformed rate at its value', () => {
    expectErrorAt('rate: 1000/h', 'rate: 1000/hr', /invalid rate '1000\/hr'/, 'rate: '.length);
  });

  it('reserves the guards\' ids, so no rule can be mistaken for a guard', () => {
    expectErrorAt('id: pii-flow', 'id: max_calls_per_trace', /id 'max_calls_per_trace' is reserved for the guard/, 'id: '.length);
    expectErrorAt('id: pii-flow', 'id: max_agents_per_user', /id 'max_agents_per_user' is reserved/, 'id: '.length);
  });

  it('rejects a malformed window at its value', () => {
    expectErrorAt('window: 1m', 'window: 1 minute', /invalid duration '1 minute'/, 'window: '.length);
  });

  it('rejects an unknown per dimension, listing the allowed ones', () => {
    expectErrorAt('per: agent', 'per: agnet', /must be one of: agent, user, role, classification, session, tenant/, 'per: '.length);
  });

  it('rejects a duplicate rule id at the second use', () => {
    expectErrorAt('id: pii-flow', 'id: user-tokens', /duplicate id 'user-tokens'/, 'id: '.length);
  });

  it('rejects an exception naming an unknown limit', () => {
    expectErrorAt('limit: agent-burst', 'limit: agent-bust', /exception names unknown limit 'agent-bust'/, 'limit: '.length);
  });

  it('reads the telemetry section with its defaults, and rejects an export of an unknown accumulator at its value', () => {
    const plain = loadPolicy(referenceText, NOW);
    assert.ok(plain.ok);
    assert.deepEqual(plain.policy.telemetry, { identity: 'pseudonym', perPersonMetrics: false, exported: [], metricsAuth: 'token' });
    const section = '\ntelemetry:\n  identity: user\n  per_person_metrics: true\n  exported: [user-daily]\n  metrics_endpoint: { auth: none }\n';
    const given = loadPolicy(referenceText + section, NOW);
    assert.ok(given.ok, JSON.stringify(!given.ok && given.errors));
    assert.deepEqual(given.policy.telemetry, { identity: 'user', perPersonMetrics: true, exported: ['user-daily'], metricsAuth: 'none' });
    const errors = errorsOf(referenceText + section.replace('[user-daily]', '[user-daily, user-dialy]'));
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /telemetry exports unknown limit or budget 'user-dialy'/);
    assert.deepEqual({ line: errors[0]!.line, column: errors[0]!.column }, positionOf(referenceText + section.replace('[user-daily]', '[user-daily, user-dialy]'), 'user-dialy'));
    assert.match(errorsOf(referenceText + section.replace('identity: user', 'identity: everyone'))[0]!.message, /must be one of: pseudonym, user, none/);
  });

  it('rejects downgrade_to a model without a price', () => {
    expectErrorAt('downgrade_to: gpt-4o-mini', 'downgrade_to: acme-nano-0', /'acme-nano-0' has no price/, 'downgrade_to: '.length);
  });

  it('accepts downgrade_to a model only the price catalogue prices', () => {
    assert.equal(loadPolicy(referenceText.replace('downgrade_to: gpt-4o-mini', 'downgrade_to: claude-haiku-4-5'), NOW).ok, true);
  });

  it('rejects an impossible date', () => {
    expectErrorAt('expires: 2027-06-30', 'expires: 2026-02-30', /impossible date '2026-02-30'/, 'expires: '.length);
  });

  it('rejects a negative amount', () => {
    expectErrorAt('limit_usd: 500', 'limit_usd: -500', /must be greater than 0/, 'limit_usd: '.length);
  });

  it('rejects a match on an unknown role', () => {
    expectErrorAt('match: { role: marketing-analysts }', 'match: { role: marketing }', /unknown role 'marketing'/, 'match: { role: '.length);
  });

  it('rejects a when on an unknown classification', () => {
    expectErrorAt('when: { classification: pii }', 'when: { classification: phi }', /unknown classification 'phi'/, 'when: { classification: '.length);
  });

  it('rejects an invalid enum value', () => {
    expectErrorAt('on_exceed: refuse', 'on_exceed: refus', /must be one of: refuse, downgrade/, 'on_exceed: '.length);
  });

  it('rejects a token bucket without a burst', () => {
    const broken = referenceText.replace('    burst: 20\n', '');
    const errors = errorsOf(broken);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /'agent-burst' needs a burst/);
  });

  it('rejects a field of the other algorithm', () => {
    expectErrorAt('    window: 1h\n', '    window: 1h\n    burst: 5\n', /'burst' applies to token-bucket/, '    window: 1h\n    '.length);
  });

  it('rejects an exception override that does not fit its rule', () => {
    expectErrorAt('    burst: 500\n', '    max: 500\n', /'max' cannot override a token-bucket limit/, '    '.length);
  });

  it('reports every error, in line order, not only the first', () => {
    const broken = referenceText.replace('limit: agent-burst', 'limit: nope').replace('expires: 2027-06-30', 'expires: 2026-13-01').replace('id: pii-flow', 'id: user-tokens');
    const errors = errorsOf(broken);
    assert.equal(errors.length, 3);
    assert.deepEqual(errors.map((e) => e.line), [...errors.map((e) => e.line)].sort((a, b) => a - b));
  });

  it('reports the checks a schema cannot express together with the schema\'s errors', () => {
    const broken = `${referenceText
      .replace('    limit: 200000\n', '    limit: 200000\n    burts: 5\n')
      .replace('limit_usd: 500', 'limit_usd: -500')
      .replace('rate: 1000/h', 'rate: 1000/hr')
      .replace('expires: 2027-06-30', 'expires: 2026-02-30')}  - identity: { user: bob@acme.dev }\n    limit: nope\n    burst: 5\n    expires: 2027-01-01\n    reason: a second exception\n`;
    const errors = errorsOf(broken);
    const expected = [/unknown key 'burts'/, /invalid rate '1000\/hr'/, /must be greater than 0/, /impossible date '2026-02-30'/, /exception names unknown limit 'nope'/];
    assert.equal(errors.length, expected.length, JSON.stringify(errors));
    expected.forEach((m, i) => assert.match(errors[i]!.message, m));
    assert.deepEqual(errors[1], { ...positionOf(broken, 'rate: 1000/hr', 'rate: '.length), message: errors[1]!.message });
  });

  it('skips only the element a schema error lies in', () => {
    // agent-burst's rate has the wrong type: its own checks (and the fit of the exception naming it)
    // cannot run, but pii-flow's window and the exception's date are still checked.
    const broken = referenceText.replace('rate: 60/min', 'rate: 60').replace('window: 1m', 'window: 1 minute').replace('expires: 2027-06-30', 'expires: 2026-13-01');
    const messages = errorsOf(broken).map((e) => e.message);
    assert.equal(messages.length, 3, JSON.stringify(messages));
    assert.match(messages[0]!, /must be a string/);
    assert.match(messages[1]!, /invalid duration '1 minute'/);
    assert.match(messages[2]!, /impossible date '2026-13-01'/);
  });

  it('still names a duplicate id when the rule holding it is malformed', () => {
    const broken = referenceText.replace('id: pii-flow', 'id: user-tokens').replace('    window: 1h\n', '    window: 1h\n    colour: red\n');
    const messages = errorsOf(broken).map((e) => e.message);
    assert.equal(messages.length, 2, JSON.stringify(messages));
    assert.match(messages[0]!, /unknown key 'colour'/);
    assert.match(messages[1]!, /duplicate id 'user-tokens'/);
  });

  it('checks the sections that are there when a required one is missing or of the wrong type', () => {
    const broken = referenceText.replace('name: acme-ai-gateway\n', '').replace('limits:\n', 'limits:\n  - 5\n').replace('expires: 2027-06-30', 'expires: 2026-02-30')
      .replace(/^identity:\n[\s\S]*?\n\n/m, 'identity: everyone\n\n');
    const messages = errorsOf(broken).map((e) => e.message);
    assert.ok(messages.some((m) => /missing required key 'name'/.test(m)), JSON.stringify(messages));
    assert.ok(messages.some((m) => /impossible date '2026-02-30'/.test(m)), JSON.stringify(messages));
    assert.ok(messages.some((m) => /must be a object/.test(m)), JSON.stringify(messages));
  });

  it('skips a malformed entry whose name looks like a number', () => {
    const messages = errorsOf(referenceText.replace('classification:\n', 'classification:\n  "1": 5\n').replace('providers:\n', 'providers:\n  "9": 5\n')).map((e) => e.message);
    assert.deepEqual(messages, ['must be a object', 'must be a object']);
  });

  it('never throws on a bundle with any value replaced by any other (fast-check)', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const issuers = `      algorithms: [ES256]\n      jwks: { keys: [${JSON.stringify({ ...ec.export({ format: 'jwk' }), kid: 'e1' })}] }\n` +
      `    - issuer: https://pem.acme.dev\n      audience: tollgate\n${publicKeyField(rsa.export({ type: 'spki', format: 'pem' }) as string)}`;
    const reference = parse(bundleWithIssuer(issuers)) as unknown;
    assert.ok(loadPolicy(stringify(reference), NOW).ok, 'the bundle fuzzed from loads');
    const paths: (string | number)[][] = [];
    const walk = (v: unknown, path: (string | number)[]): void => {
      paths.push(path);
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
      else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
    };
    walk(reference, []);
    const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(null, [], {}, '', 'x', -1, 0.5, true));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...paths.slice(1)), anyValue), { minLength: 1, maxLength: 3 }), (edits) => {
        const doc = structuredClone(reference) as Record<string | number, unknown>;
        for (const [path, value] of edits) {
          let parent: unknown = doc;
          for (const k of path.slice(0, -1)) parent = parent !== null && typeof parent === 'object' ? (parent as Record<string | number, unknown>)[k] : undefined;
          // An earlier edit may have replaced this value's parent.
          if (parent !== null && typeof parent === 'object') (parent as Record<string | number, unknown>)[path.at(-1)!] = value;
        }
        const r = loadPolicy(stringify(doc), NOW);
        assert.ok(r.ok || r.errors.length > 0);
      }),
      { numRuns: 100 },
    );
  });

  it('reports YAML syntax errors with their position', () => {
    const errors = errorsOf('version: 1\nname: [unclosed\n');
    assert.ok(errors.length >= 1);
    assert.ok(errors[0]!.line >= 2);
  });

  it('rejects a duplicate key, which would otherwise silently override a value', () => {
    const errors = errorsOf(referenceText.replace('version: 1\n', 'version: 1\nversion: 1\n'));
    assert.ok(errors.some((e) => /unique|duplicate/i.test(e.message)));
  });

  describe('bundles that would exhaust the parser', () => {
    it('refuses a "billion laughs" alias bomb at its first alias, with an error instead of an exception', () => {
      const text = `${referenceText}${aliasBomb()}`;
      const errors = errorsOf(text);
      assert.equal(errors.length, 1, JSON.stringify(errors));
      assert.match(errors[0]!.message, /billion laughs/);
      assert.deepEqual({ line: errors[0]!.line, column: errors[0]!.column }, positionOf(text, '*a'));
    });

    it('refuses an alias that makes the bundle refer to itself', () => {
      const text = referenceText.replace('  roles:\n', '  roles: &roles\n    loop: *roles\n');
      const errors = errorsOf(text);
      assert.equal(errors.length, 1, JSON.stringify(errors));
      assert.match(errors[0]!.message, /refer to itself/);
    });

    it('refuses nesting deeper than 64 levels where it passes the limit, flow or block', () => {
      const flow = `${referenceText}deep: ${'['.repeat(100_000)}\n`;
      const errors = errorsOf(flow);
      assert.equal(errors.length, 1);
      assert.match(errors[0]!.message, /nested deeper than 64 levels/);
      const at = positionOf(flow, 'deep: ');
      assert.deepEqual({ line: errors[0]!.line, column: errors[0]!.column }, { line: at.line, column: at.column + 'deep: '.length + 64 });
      const block = `${referenceText}deep:\n  ${'- '.repeat(100_000)}x\n`;
      assert.match(errorsOf(block)[0]!.message, /nested deeper than 64 levels/);
      assert.equal(errorsOf(`${referenceText}deep: ${'['.repeat(63)}${']'.repeat(63)}\n`)[0]!.message, "unknown key 'deep'", '63 levels under the root are read');
    });

    it('refuses a bundle over 256 KiB before reading it', () => {
      const text = `${referenceText}# ${'x'.repeat(256 * 1024)}\n`;
      const errors = errorsOf(text);
      assert.equal(errors.length, 1);
      assert.equal(errors[0]!.message, `the bundle is ${Math.ceil(Buffer.byteLength(text) / 1024)} KiB; a policy bundle may be at most 256 KiB`);
    });

    it('names a duplicate key at its second use, among many keys', () => {
      const people = Array.from({ length: 5_000 }, (_, i) => `    p${i}@acme.dev: [ml-engineers]\n`).join('');
      const text = referenceText.replace('  roles:\n', `  roles:\n${people}    p7@acme.dev: [marketing-analysts]\n`);
      const errors = errorsOf(text);
      assert.equal(errors.length, 1, JSON.stringify(errors.slice(0, 3)));
      assert.match(errors[0]!.message, /duplicate key 'p7@acme.dev' \(first given at line \d+\)/);
      assert.deepEqual({ line: errors[0]!.line, column: errors[0]!.column }, positionOf(text, '    p7@acme.dev: [marketing', 4));
    });

    it('refuses a second YAML document', () => {
      const errors = errorsOf(`${referenceText}---\nname: other\n`);
      assert.equal(errors.length, 1);
      assert.match(errors[0]!.message, /one YAML document/);
    });
  });

  it('warns about an exception that has already expired, without rejecting', () => {
    const r = loadPolicy(referenceText, Date.parse('2027-08-01T00:00:00Z'));
    assert.ok(r.ok);
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0]!.message, /expired/);
  });

  it('reads an Azure provider\'s deployment map, and refuses one on any other style', () => {
    const azure = (fields: string): string => referenceText.replace('providers:\n', `providers:\n  azure: { upstream: https://acme.openai.azure.com, style: azure-openai, key_env: AZURE_OPENAI_API_KEY${fields} }\n`);
    const r = loadPolicy(azure(', deployments: { my-gpt4o: gpt-4o, mini: gpt-4o-mini }'), NOW);
    assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
    if (r.ok) {
      assert.deepEqual(r.policy.providers.get('azure')?.deployments, { 'my-gpt4o': 'gpt-4o', mini: 'gpt-4o-mini' });
      assert.deepEqual(r.warnings, []);
    }
    const bare = loadPolicy(azure(''), NOW);
    assert.ok(bare.ok);
    if (bare.ok) assert.match(bare.warnings.map((w) => w.message).join('\n'), /provider 'azure' \(style azure-openai\) lists no deployments/);
    const errors = errorsOf(referenceText.replace('style: openai,    key_env: OPENAI_API_KEY', 'style: openai, key_env: OPENAI_API_KEY, deployments: { a: gpt-4o }'));
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /only a provider of style azure-openai has them/);
  });

  it('formats errors as FILE:LINE:COL: message', () => {
    const r = loadPolicy(referenceText.replace('rate: 60/min', 'rate: sixty'), NOW);
    assert.ok(!r.ok);
    if (!r.ok) assert.match(formatIssue('policy.yaml', r.errors[0]!), /^policy\.yaml:\d+:\d+: invalid rate 'sixty'/);
  });

  it('ships a JSON Schema file generated from the one TypeBox source', () => {
    const shipped = JSON.parse(readFileSync(path.join(__dirname, '..', '..', '..', 'schemas', 'tollgate-policy.schema.json'), 'utf8')) as unknown;
    assert.deepEqual(shipped, policyJsonSchema(registeredStyles()), 'run `npm run schema` after changing src/engine/policy/schema.ts');
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { contributes: { yamlValidation: { fileMatch: string[]; url: string }[] } };
    assert.deepEqual(pkg.contributes.yamlValidation[0]!.fileMatch, ['tollgate.yaml', '*.tollgate.yaml']);
  });

  it('ships a reference bundle that loads clean from its file', () => {
    // The shared spec runs ahead of the code; each of its parts ships with the change that makes it
    // loadable, so the shipped file must always load, with no error and no warning.
    const r = loadPolicy(readFileSync(referencePath, 'utf8'), Date.now());
    assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => formatIssue(referencePath, e)).join('\n'));
    if (r.ok) assert.deepEqual(r.warnings.map((w) => w.message), []);
  });
});
