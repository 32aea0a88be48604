import assert from 'node:assert/strict';
import { MalformedRequestError } from '../../../src/contracts/call';
import type { ModelCall } from '../../../src/contracts/call';
import { rawBody, renderBody } from '../../../src/pipeline/request-body';
import { anthropicAdapter } from '../../../src/providers/anthropic/adapter';
import { MAX_DECLARED_TOOLS } from '../../../src/providers/declared-tools';
import { geminiAdapter } from '../../../src/providers/gemini/adapter';
import { openaiAdapter } from '../../../src/providers/openai/adapter';

// The tools each style reads from a request, the request without some of them, and what a hostile
// body gets: a clear 400, never a crash or a tool that slips past the reading.

const CHAT = '/v1/chat/completions';
const RESPONSES = '/v1/responses';
const MESSAGES = '/v1/messages';
const GENERATE = '/v1beta/models/gemini-2.5-flash:generateContent';
const messages = [{ role: 'user', content: 'hi' }];
const fn = (name: unknown): unknown => ({ type: 'function', function: { name, parameters: {} } });

function chatTools(body: Record<string, unknown>): readonly string[] | undefined {
  return openaiAdapter.describe('openai', CHAT, 'POST', { model: 'gpt-4o-mini', messages, ...body }).tools;
}
function responsesTools(body: Record<string, unknown>): readonly string[] | undefined {
  return openaiAdapter.describe('openai', RESPONSES, 'POST', { model: 'gpt-4o-mini', input: 'hi', ...body }).tools;
}
function anthropicTools(body: Record<string, unknown>): readonly string[] | undefined {
  return anthropicAdapter.describe('anthropic', MESSAGES, 'POST', { model: 'claude-haiku-4-5', max_tokens: 10, messages, ...body }).tools;
}
function geminiTools(body: Record<string, unknown>): readonly string[] | undefined {
  return geminiAdapter.describe('gemini', GENERATE, 'POST', { contents: [{ parts: [{ text: 'hi' }] }], ...body }).tools;
}

function rejects(read: () => unknown, message: RegExp): void {
  assert.throws(read, (err: unknown) => MalformedRequestError.is(err) && message.test(err.message));
}

describe('declared tools: what each style reads', () => {
  it('OpenAI chat: function and custom tools by name, the legacy functions, each once', () => {
    assert.deepEqual(chatTools({ tools: [fn('Read'), { type: 'custom', custom: { name: 'apply_patch' } }, fn('Read')], functions: [{ name: 'Grep' }] }), ['Read', 'apply_patch', 'Grep']);
    assert.equal(chatTools({}), undefined);
    assert.equal(chatTools({ tools: null }), undefined);
  });

  it('OpenAI Responses: function tools by name, built-in tools by type', () => {
    assert.deepEqual(responsesTools({ tools: [{ type: 'function', name: 'Read' }, { type: 'web_search_preview' }, { type: 'file_search' }, { type: 'mcp', server_label: 'x' }] }), ['Read', 'web_search_preview', 'file_search', 'mcp']);
  });

  it('Anthropic: client and server tools by name', () => {
    assert.deepEqual(anthropicTools({ tools: [{ name: 'Bash', input_schema: {} }, { type: 'web_search_20250305', name: 'web_search' }] }), ['Bash', 'web_search']);
  });

  it('Anthropic count_tokens declares nothing to a model', () => {
    const call = anthropicAdapter.describe('anthropic', '/v1/messages/count_tokens', 'POST', { model: 'claude-haiku-4-5', messages, tools: [{ name: 'Bash' }] });
    assert.equal(call.tools, undefined);
  });

  it('Gemini: function declarations by name, built-in tools by key (snake_case read as camelCase)', () => {
    assert.deepEqual(geminiTools({ tools: [{ functionDeclarations: [{ name: 'Read' }] }, { google_search: {} }, { function_declarations: [{ name: 'Grep' }], codeExecution: {} }] }), ['Read', 'googleSearch', 'Grep', 'codeExecution']);
  });
});

describe('declared tools: hostile bodies get a clear 400', () => {
  const readers: [string, (b: Record<string, unknown>) => unknown, (name: unknown) => Record<string, unknown>][] = [
    ['OpenAI chat', chatTools, (name) => ({ tools: [fn(name)] })],
    ['OpenAI Responses', responsesTools, (name) => ({ tools: [{ type: 'function', name }] })],
    ['Anthropic', anthropicTools, (name) => ({ tools: [{ name }] })],
    ['Gemini', geminiTools, (name) => ({ tools: [{ functionDeclarations: [{ name }] }] })],
  ];
  for (const [style, read, declaring] of readers) {
    it(`${style}: tools not an array, entries not objects, names not strings or huge`, () => {
      rejects(() => read({ tools: { name: 'Bash' } }), /"tools" must be an array/);
      rejects(() => read({ tools: 'Bash' }), /"tools" must be an array/);
      rejects(() => read({ tools: ['Bash'] }), /must be an object/);
      rejects(() => read({ tools: [null] }), /must be an object/);
      for (const name of [42, null, {}, ['Bash'], '']) rejects(() => read(declaring(name)), /must be a non-empty string/);
      rejects(() => read(declaring('B'.repeat(1_000_000))), /characters long; at most 256/);
    });

    it(`${style}: 10,000 tools are refused; ${MAX_DECLARED_TOOLS} are read`, () => {
      const many = (n: number): Record<string, unknown> => {
        const one = declaring('t0');
        const tools = one.tools as Record<string, unknown>[];
        if (style === 'Gemini') return { tools: [{ functionDeclarations: Array.from({ length: n }, (_, i) => ({ name: `t${i}` })) }] };
        const make = (i: number): unknown => JSON.parse(JSON.stringify(tools[0]).replace('"t0"', `"t${i}"`));
        return { tools: Array.from({ length: n }, (_, i) => make(i)) };
      };
      rejects(() => read(many(10_000)), /at most 2048/);
      assert.equal((read(many(MAX_DECLARED_TOOLS)) as string[]).length, MAX_DECLARED_TOOLS);
    });
  }

  it('Gemini: a tool object that is not an object, and declarations not an array', () => {
    rejects(() => geminiTools({ tools: [{ functionDeclarations: { name: 'Bash' } }] }), /must be an array/);
    rejects(() => geminiTools({ tools: [{ functionDeclarations: [{ name: 'a' }] }, ...Array.from({ length: 3 }, () => ({ functionDeclarations: Array.from({ length: 1000 }, (_, i) => ({ name: `x${i}` })) }))] }), /more than 2048 tools/);
  });
});

describe('stripping declared tools from a request', () => {
  const call = (route: string, tools: string[]): ModelCall => ({ provider: 'p', style: 'openai', route, kind: 'generate', model: 'm', stream: false, inputTokens: 1, choices: 1, texts: [], tools });

  it('OpenAI chat: the tool, a choice naming it, the legacy function and its call', () => {
    const body = { model: 'm', messages, tools: [fn('Read'), fn('Bash')], tool_choice: { type: 'function', function: { name: 'Bash' } }, functions: [{ name: 'Bash' }], function_call: { name: 'Bash' } };
    const out = openaiAdapter.rewrite(body, call(CHAT, ['Read', 'Bash']), { stripTools: ['Bash'] }).body;
    assert.deepEqual(out.tools, [fn('Read')]);
    for (const f of ['tool_choice', 'functions', 'function_call']) assert.equal(Object.hasOwn(out, f), false, f);
    assert.deepEqual(body.tools, [fn('Read'), fn('Bash')], 'the client body is not changed');
  });

  it('OpenAI chat: an allowed_tools choice is narrowed, and goes when nothing it lists is left', () => {
    const choice = { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [{ type: 'function', function: { name: 'Read' } }, { type: 'function', function: { name: 'Bash' } }] } };
    const out = openaiAdapter.rewrite({ model: 'm', messages, tools: [fn('Read'), fn('Bash')], tool_choice: choice }, call(CHAT, ['Read', 'Bash']), { stripTools: ['Bash'] }).body;
    assert.deepEqual(out.tool_choice, { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [{ type: 'function', function: { name: 'Read' } }] } });
  });

  it('OpenAI Responses: a hosted tool and a choice of it by type', () => {
    const out = openaiAdapter.rewrite({ model: 'm', input: 'hi', tools: [{ type: 'function', name: 'Read' }, { type: 'web_search_preview' }], tool_choice: { type: 'web_search_preview' } }, call(RESPONSES, []), { stripTools: ['web_search_preview'] }).body;
    assert.deepEqual(out.tools, [{ type: 'function', name: 'Read' }]);
    assert.equal(Object.hasOwn(out, 'tool_choice'), false);
  });

  it('Anthropic: a choice of the stripped tool goes, an auto choice stays while a tool is left', () => {
    let out = anthropicAdapter.rewrite({ model: 'm', tools: [{ name: 'Read' }, { name: 'Bash' }], tool_choice: { type: 'tool', name: 'Bash' } }, call(MESSAGES, []), { stripTools: ['Bash'] }).body;
    assert.deepEqual(out.tools, [{ name: 'Read' }]);
    assert.equal(Object.hasOwn(out, 'tool_choice'), false);
    out = anthropicAdapter.rewrite({ model: 'm', tools: [{ name: 'Read' }, { name: 'Bash' }], tool_choice: { type: 'auto' } }, call(MESSAGES, []), { stripTools: ['Bash'] }).body;
    assert.deepEqual(out.tool_choice, { type: 'auto' });
  });

  it('Gemini: mode ANY restricted to stripped names becomes AUTO; no tool left, no config', () => {
    let out = geminiAdapter.rewrite({ tools: [{ functionDeclarations: [{ name: 'Read' }, { name: 'Bash' }] }], toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['Bash'] } } }, call(GENERATE, []), { stripTools: ['Bash'] }).body;
    assert.deepEqual(out.toolConfig, { functionCallingConfig: { mode: 'AUTO' } });
    out = geminiAdapter.rewrite({ tools: [{ functionDeclarations: [{ name: 'Bash' }] }], toolConfig: { functionCallingConfig: { mode: 'ANY' } } }, call(GENERATE, []), { stripTools: ['Bash'] }).body;
    assert.equal(Object.hasOwn(out, 'tools'), false);
    assert.equal(Object.hasOwn(out, 'toolConfig'), false);
  });

  it('a large body kept as bytes: only the tool members are parsed and rewritten, every other member is sent as it came', () => {
    const prompt = 'x'.repeat(50_000);
    const json = { model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: prompt }], tools: [{ name: 'Read' }, { name: 'Bash' }], tool_choice: { type: 'tool', name: 'Bash' } };
    const bytes = Buffer.from(JSON.stringify(json));
    const body = rawBody(bytes, json, anthropicAdapter.rewriteFields);
    assert.equal(body.kind === 'raw' && Object.hasOwn(body.fields, 'tools'), false, 'the tools are not kept parsed');
    const { parts } = renderBody(body, anthropicAdapter, { ...call(MESSAGES, ['Read', 'Bash']), style: 'anthropic' }, { stripTools: ['Bash'] });
    const sent = JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>;
    assert.deepEqual(sent.tools, [{ name: 'Read' }]);
    assert.equal(Object.hasOwn(sent, 'tool_choice'), false);
    assert.equal((sent.messages as { content: string }[])[0]!.content, prompt);
    assert.ok(parts.some((p) => p.length > 50_000 && p.buffer === bytes.buffer), 'the prompt is a view of the bytes as they came');
  });
});
