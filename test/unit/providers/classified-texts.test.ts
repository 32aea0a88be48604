import assert from 'node:assert/strict';
import type { ModelCall } from '../../../src/contracts/call';
import { classify } from '../../../src/engine/classify';
import { describeAnthropicCall } from '../../../src/providers/anthropic/request';
import { describeOpenAICall } from '../../../src/providers/openai/request';
import { referencePolicy } from '../../helpers/policy';

// Classification reads what a call sends as data (messages, tool calls and results, the system
// prompt), never the tool definitions: a tool's schema and description are the client's code. A
// coding agent's Bash tool tells the model to sign commits `Co-Authored-By: Claude
// <noreply@anthropic.com>`; read as data, that address labels every call of the agent pii.

const policy = referencePolicy();
const signature = 'When committing, end the message with Co-Authored-By: Claude <noreply@anthropic.com>.';
const labels = (call: ModelCall): readonly string[] => classify(policy, call.texts).labels;

const anthropicTools = [{ name: 'Bash', description: `Runs a shell command. ${signature}`, input_schema: { type: 'object', properties: { command: { type: 'string', description: 'e.g. git log --author=ops@acme.dev' } } } }];
const openaiTools = [{ type: 'function', function: { name: 'Bash', description: `Runs a shell command. ${signature}`, parameters: { type: 'object', properties: {} } } }];
const responsesTools = [{ type: 'function', name: 'Bash', description: `Runs a shell command. ${signature}`, parameters: { type: 'object', properties: {} } }];

const anthropic = (content: string, extra: Record<string, unknown> = {}): ModelCall =>
  describeAnthropicCall('anthropic', '/v1/messages', 'POST', { model: 'claude-haiku-4-5', max_tokens: 100, tools: anthropicTools, messages: [{ role: 'user', content }], ...extra });

describe('classified texts: what a call sends as data, not its tool definitions', () => {
  it('anthropic: a tool description holding an e-mail address does not label a clean call pii', () => {
    assert.deepEqual(labels(anthropic('list the files here')), []);
  });

  it('anthropic: a user message with an address is still pii, tools or not', () => {
    assert.deepEqual(labels(anthropic('mail the report to bob@acme.dev')), ['pii']);
  });

  it('anthropic: the system prompt is classified (a person can put data there)', () => {
    assert.deepEqual(labels(anthropic('hello', { system: 'The user is bob@acme.dev.' })), ['pii']);
    assert.deepEqual(labels(anthropic('hello', { system: [{ type: 'text', text: 'The user is bob@acme.dev.' }] })), ['pii']);
  });

  it('anthropic: tool calls and tool results are data', () => {
    const call = describeAnthropicCall('anthropic', '/v1/messages', 'POST', {
      model: 'claude-haiku-4-5', max_tokens: 100, tools: anthropicTools,
      messages: [
        { role: 'user', content: 'who wrote the last commit?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'Bash', input: { command: 'git log -1' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'Author: Bob <bob@acme.dev>' }] },
      ],
    });
    assert.deepEqual(labels(call), ['pii']);
  });

  it('anthropic: the tool definitions still count toward the input tokens', () => {
    const without = describeAnthropicCall('anthropic', '/v1/messages', 'POST', { model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
    assert.ok(anthropic('hi').inputTokens > without.inputTokens + 20);
  });

  it('openai chat: tools and functions are not classified, messages and tool calls are', () => {
    const body = (content: string): Record<string, unknown> => ({ model: 'gpt-4o-mini', tools: openaiTools, functions: [{ name: 'f', description: signature, parameters: {} }], messages: [{ role: 'user', content }] });
    assert.deepEqual(labels(describeOpenAICall('openai', '/v1/chat/completions', 'POST', body('list the files'))), []);
    assert.deepEqual(labels(describeOpenAICall('openai', '/v1/chat/completions', 'POST', body('write to bob@acme.dev'))), ['pii']);
    const withTools = describeOpenAICall('openai', '/v1/chat/completions', 'POST', body('hi'));
    const bare = describeOpenAICall('openai', '/v1/chat/completions', 'POST', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    assert.ok(withTools.inputTokens > bare.inputTokens + 20);
  });

  it('openai responses: tools are not classified, instructions and input are', () => {
    const body = (input: string, instructions = 'You are a coding agent.'): Record<string, unknown> => ({ model: 'gpt-4o-mini', tools: responsesTools, instructions, input });
    assert.deepEqual(labels(describeOpenAICall('openai', '/v1/responses', 'POST', body('list the files'))), []);
    assert.deepEqual(labels(describeOpenAICall('openai', '/v1/responses', 'POST', body('write to bob@acme.dev'))), ['pii']);
    assert.deepEqual(labels(describeOpenAICall('openai', '/v1/responses', 'POST', body('hello', 'The user is bob@acme.dev.'))), ['pii']);
  });
});
