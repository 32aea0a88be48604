import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { loadPolicy } from '../../../src/engine/policy/loader';
import { MockUpstream } from '../../helpers/mock-upstream';
import { NOW, referenceText } from '../../helpers/policy';
import { startTestProxy } from '../../helpers/proxy';

const openaiLine = '  openai:    { upstream: https://api.openai.com,    style: openai,    key_env: OPENAI_API_KEY }\n';

describe('which account is billed is the bundle\'s choice, not the caller\'s', () => {
  let mock: MockUpstream;
  before(async () => {
    mock = new MockUpstream();
    await mock.start();
  });
  after(() => mock.stop());

  async function callWith(policyText: string, headers: Record<string, string>): Promise<Record<string, string | string[] | undefined>> {
    const p = await startTestProxy(mock.url, { policyText });
    try {
      const client = new OpenAI({ apiKey: await p.token('bob@acme.dev'), baseURL: `${p.url}/openai/v1`, maxRetries: 0, defaultHeaders: headers });
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], max_tokens: 5 });
      return mock.last().headers;
    } finally {
      await p.stop();
    }
  }

  it('does not forward a client\'s openai-organization or openai-project', async () => {
    const seen = await callWith(referenceText, { 'openai-organization': 'org-attacker', 'openai-project': 'proj_attacker' });
    assert.equal(seen['openai-organization'], undefined);
    assert.equal(seen['openai-project'], undefined);
  });

  it('sends the provider entry\'s headers, over whatever the client sent', async () => {
    assert.ok(referenceText.includes(openaiLine));
    const policy = referenceText.replace(openaiLine, '  openai:\n    upstream: https://api.openai.com\n    style: openai\n    key_env: OPENAI_API_KEY\n    headers: { OpenAI-Organization: org-acme, openai-project: proj_platform }\n');
    const seen = await callWith(policy, { 'openai-organization': 'org-attacker', 'openai-project': 'proj_attacker' });
    assert.equal(seen['openai-organization'], 'org-acme');
    assert.equal(seen['openai-project'], 'proj_platform');
  });

  it('passes a client\'s value only for a header the bundle lists in forward_headers', async () => {
    const policy = referenceText.replace(openaiLine, '  openai:\n    upstream: https://api.openai.com\n    style: openai\n    key_env: OPENAI_API_KEY\n    forward_headers: [openai-project]\n');
    const seen = await callWith(policy, { 'openai-organization': 'org-x', 'openai-project': 'proj_team' });
    assert.equal(seen['openai-project'], 'proj_team');
    assert.equal(seen['openai-organization'], undefined);
  });

  it('refuses a bundle that would forward or set credentials or attribution headers', () => {
    for (const bad of ['    forward_headers: [Authorization]\n', '    forward_headers: [x-tollgate-user]\n', '    headers: { x-api-key: abc }\n']) {
      const r = loadPolicy(referenceText.replace(openaiLine, `  openai:\n    upstream: https://api.openai.com\n    style: openai\n${bad}`), NOW);
      assert.equal(r.ok, false, bad);
      if (!r.ok) assert.match(r.errors[0]!.message, /(never passes from a client|is set by the proxy itself)/);
    }
  });
});
