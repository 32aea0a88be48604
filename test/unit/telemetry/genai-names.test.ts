import assert from 'node:assert/strict';
import type { ModelCall } from '../../../src/contracts/call';
import { genAiOperationName, genAiProviderName } from '../../../src/telemetry/genai-names';

function call(style: string, route: string, kind: ModelCall['kind'] = 'generate'): ModelCall {
  return { provider: style, style, route, kind, model: 'm', stream: false, inputTokens: 1, choices: 1, texts: [] };
}

describe('GenAI convention names', () => {
  it('names each wire style with the conventions\' well-known provider value', () => {
    assert.deepEqual(['openai', 'anthropic', 'gemini', 'azure-openai'].map((s) => genAiProviderName(call(s, '/'))), ['openai', 'anthropic', 'gcp.gemini', 'azure.ai.openai']);
  });

  it('names the operation from the route and the kind of call', () => {
    assert.equal(genAiOperationName(call('openai', '/v1/chat/completions')), 'chat');
    assert.equal(genAiOperationName(call('openai', '/v1/responses')), 'chat');
    assert.equal(genAiOperationName(call('openai', '/v1/completions')), 'text_completion');
    assert.equal(genAiOperationName(call('azure-openai', '/openai/deployments/d/completions')), 'text_completion');
    assert.equal(genAiOperationName(call('azure-openai', '/openai/deployments/d/chat/completions')), 'chat');
    assert.equal(genAiOperationName(call('openai', '/v1/embeddings', 'embed')), 'embeddings');
    assert.equal(genAiOperationName(call('anthropic', '/v1/messages')), 'chat');
    assert.equal(genAiOperationName(call('anthropic', '/v1/messages/count_tokens', 'count')), 'count_tokens');
    assert.equal(genAiOperationName(call('gemini', '/v1beta/models/gemini-2.5-flash:streamGenerateContent')), 'generate_content');
    assert.equal(genAiOperationName(call('openai', '/v1/models', 'passthrough')), undefined);
  });
});
