import assert from 'node:assert/strict';
import type { PreviewContext } from '../../../src/preview/estimate';
import { modelCallFor } from '../../../src/preview/estimate';
import { findJsCalls } from '../../../src/preview/js-finder';
import { findPythonCalls } from '../../../src/preview/python-finder';
import { NOW, referencePolicy } from '../../helpers/policy';

const dev: PreviewContext = { policy: referencePolicy(), identity: { user: 'dev@acme.dev', agent: 'default', session: 's1', roles: [], issuer: 'tollgate' }, now: NOW };

describe('preview: Gemini SDK calls', () => {
  it('finds `ai.models.generateContent` (@google/genai) as a Gemini call, counted on the route that names its model', async () => {
    const text = [
      "import { GoogleGenAI } from '@google/genai';",
      'const ai = new GoogleGenAI({});',
      "const r = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Summarise the release notes.' });",
      "const s = await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'Count.' });",
    ].join('\n');
    const calls = await findJsCalls(text, 'gen.ts');
    assert.equal(calls.length, 2);
    const [call, stream] = calls;
    assert.equal(call!.provider, 'gemini');
    assert.equal(call!.route, '/v1beta/models/{model}:generateContent');
    assert.equal(call!.model, 'gemini-2.5-flash');
    assert.deepEqual(call!.prompt, [{ role: 'user', text: 'Summarise the release notes.' }]);
    assert.equal(stream!.stream, true);
    const described = modelCallFor(call!, 'gemini-2.5-flash', dev);
    assert.equal(described.route, '/v1beta/models/gemini-2.5-flash:generateContent');
    assert.equal(described.model, 'gemini-2.5-flash');
    assert.ok(described.inputTokens > 0);
    assert.equal(modelCallFor(stream!, 'gemini-2.5-flash', dev).route, '/v1beta/models/gemini-2.5-flash:streamGenerateContent');
  });

  it('finds `client.models.generate_content` (google-genai for Python)', () => {
    const text = [
      'from google import genai',
      'client = genai.Client()',
      "r = client.models.generate_content(model='gemini-2.5-flash', contents='Hello there')",
    ].join('\n');
    const calls = findPythonCalls(text);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.provider, 'gemini');
    assert.equal(calls[0]!.model, 'gemini-2.5-flash');
    assert.deepEqual(calls[0]!.prompt, [{ role: 'user', text: 'Hello there' }]);
  });
});
