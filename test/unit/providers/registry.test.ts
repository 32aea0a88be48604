import assert from 'node:assert/strict';
import { loadPolicy } from '../../../src/engine/policy/loader';
import type { ProviderAdapter } from '../../../src/providers/adapter';
import { openaiAdapter } from '../../../src/providers/openai/adapter';
import { adapterFor, ProviderRegistryError, registeredStyles, registerProvider, styleOfKeyRule, styleOfModel, styleOfPath } from '../../../src/providers/registry';
import { RouteTable } from '../../../src/providers/routes';
import { NOW, positionOf, referenceText } from '../../helpers/policy';

describe('provider registry', () => {
  it('holds the shipped styles', () => {
    assert.deepEqual(registeredStyles().filter((s) => s === 'openai' || s === 'anthropic' || s === 'gemini').sort(), ['anthropic', 'gemini', 'openai']);
    assert.equal(adapterFor('anthropic').style, 'anthropic');
  });

  it('fails loudly on a style it does not hold, naming those it does', () => {
    assert.throws(() => adapterFor('mistral'), (err: unknown) => ProviderRegistryError.is(err, 'unknown-style') && /mistral.*registered: .*openai/.test(err.message));
  });

  it('refuses a second adapter for a style, and a name a bundle could not write', () => {
    assert.throws(() => registerProvider(openaiAdapter), (err: unknown) => ProviderRegistryError.is(err, 'duplicate-style'));
    assert.throws(() => registerProvider({ ...openaiAdapter, style: 'Open AI' }), (err: unknown) => ProviderRegistryError.is(err, 'invalid-style'));
  });

  it('takes a style registered for a while out again, and its routes and key rules with it', () => {
    const extra: ProviderAdapter = { ...openaiAdapter, style: 'extra-style', routes: new RouteTable([{ pattern: '/v9/extra', methods: ['POST'], kind: 'generate' }]), keyRules: ['extra-key'] };
    const unregister = registerProvider(extra);
    assert.equal(adapterFor('extra-style'), extra);
    assert.equal(styleOfPath('/v9/extra'), 'extra-style');
    assert.equal(styleOfKeyRule('extra-key'), 'extra-style');
    unregister();
    assert.ok(!registeredStyles().includes('extra-style'));
    assert.equal(styleOfPath('/v9/extra'), undefined);
  });

  it("names the style whose provider serves a model: a claimed prefix, else the style that serves any", () => {
    assert.equal(styleOfModel('claude-haiku-4-5'), 'anthropic');
    assert.equal(styleOfModel('gpt-4o-mini'), 'openai');
    assert.equal(styleOfModel('llama-3.1-70b'), 'openai');
  });

  it('names the style a path belongs to', () => {
    assert.equal(styleOfPath('/v1/messages'), 'anthropic');
    assert.equal(styleOfPath('/v1/chat/completions'), 'openai');
    assert.equal(styleOfPath('/v1beta/models/gemini-2.5-flash:generateContent'), 'gemini');
    assert.equal(styleOfPath('/v1/nothing'), undefined);
  });

  it("is where a bundle's styles come from: a style no adapter serves is refused at its position", () => {
    const text = referenceText.replace('style: anthropic,', 'style: mistral,');
    const r = loadPolicy(text, NOW, registeredStyles());
    assert.ok(!r.ok);
    const e = r.errors.find((x) => /unknown provider style 'mistral': one of .*openai.*anthropic.*gemini/.test(x.message));
    assert.ok(e, r.errors.map((x) => x.message).join('; '));
    assert.equal(e.position.line, positionOf(text, 'mistral').line);
    assert.ok(loadPolicy(referenceText, NOW, registeredStyles()).ok);
  });
});
