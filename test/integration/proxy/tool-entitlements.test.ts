import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { ApiError, GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import type { AuditRecord, DecisionRecord, SettleRecord } from '../../../src/contracts/audit-records';
import { csvHeader, csvRow } from '../../../src/store/ledger/export';
import { MockUpstream } from '../../helpers/mock-upstream';
import { eventually } from '../../helpers/poll';
import { startTestProxy } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';

// Tool entitlements on model calls, through the official SDKs of the three providers: a declared
// tool outside the identity's list is refused (403, naming it) or stripped before the call goes
// upstream; the tool calls a response asks for, streamed or not, are counted on the settle
// record; and a limit on tool calls stops a runaway tool loop.

function bundle(onUndeclared: 'refuse' | 'strip'): string {
  return `version: 1
name: tools-on-model-calls
providers:
  openai:    { upstream: https://api.openai.com,    style: openai,    key_env: OPENAI_API_KEY }
  anthropic: { upstream: https://api.anthropic.com, style: anthropic, key_env: ANTHROPIC_API_KEY }
  gemini:    { upstream: https://generativelanguage.googleapis.com, style: gemini, key_env: GEMINI_API_KEY }
identity:
  required: true
limits:
  - id: tool-loop
    per: agent
    match: { agent: looping }
    algorithm: sliding-window
    window: 1h
    limit: 3
    cost: tool_calls
tools:
  on_undeclared: ${onUndeclared}
  default:
    allow: [Read, Grep, web_search, googleSearch]
`;
}

const READ = { type: 'function' as const, function: { name: 'Read', parameters: { type: 'object', properties: {} } } };
const BASH = { type: 'function' as const, function: { name: 'Bash', parameters: { type: 'object', properties: {} } } };
const messages = [{ role: 'user' as const, content: 'list the files' }];
const schema = { type: 'object' as const, properties: {} };

async function raised<E>(p: Promise<unknown>, type: abstract new (...args: never[]) => E): Promise<E> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof type, `the SDK raises ${type.name}, not ${String(err)}`);
    return err;
  }
  assert.fail('the call was not refused');
}

async function settleOf(proxy: TestProxy, decisionId: string): Promise<SettleRecord> {
  let found: SettleRecord | undefined;
  await eventually(async () => {
    found = (await proxy.records()).find((r): r is SettleRecord => r.kind === 'settle' && r.decision === decisionId);
    return found !== undefined;
  }, `the settle record of ${decisionId}`);
  return found!;
}

async function lastDecision(proxy: TestProxy): Promise<DecisionRecord> {
  const all = (await proxy.records()).filter((r): r is DecisionRecord => r.kind === 'decision');
  return all[all.length - 1]!;
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) void _;
}

describe('tool entitlements on model calls, with the official SDKs', () => {
  let mock: MockUpstream;
  let refusing: TestProxy;
  let stripping: TestProxy;

  before(async () => {
    mock = new MockUpstream();
    const upstream = await mock.start();
    refusing = await startTestProxy(upstream, { policyText: bundle('refuse') });
    stripping = await startTestProxy(upstream, { policyText: bundle('strip') });
  });
  after(async () => {
    await refusing.stop();
    await stripping.stop();
    await mock.stop();
  });

  const openai = async (proxy: TestProxy, agent = 'coder'): Promise<OpenAI> =>
    new OpenAI({ apiKey: await proxy.token('dana@acme.dev', { agent }), baseURL: `${proxy.url}/openai/v1`, maxRetries: 0 });
  const anthropic = async (proxy: TestProxy, agent = 'coder'): Promise<Anthropic> =>
    new Anthropic({ apiKey: await proxy.token('dana@acme.dev', { agent }), baseURL: `${proxy.url}/anthropic`, maxRetries: 0 });
  const gemini = async (proxy: TestProxy, agent = 'coder'): Promise<GoogleGenAI> =>
    new GoogleGenAI({ apiKey: await proxy.token('dana@acme.dev', { agent }), httpOptions: { baseUrl: `${proxy.url}/gemini` } });

  describe('a declared tool outside the list is refused (on_undeclared: refuse)', () => {
    it('OpenAI chat, streamed and not: PermissionDeniedError naming the tool, rule tools, nothing sent upstream', async () => {
      const client = await openai(refusing);
      const before = mock.seen.length;
      for (const stream of [false, true]) {
        const err = await raised(client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: [READ, BASH], stream }), OpenAI.PermissionDeniedError);
        assert.equal(err.status, 403);
        assert.match(err.message, /not entitled to tool 'Bash'/);
        assert.equal(err.code, 'tool_not_entitled');
        assert.equal(err.headers.get('x-tollgate-rule'), 'tools');
      }
      assert.equal(mock.seen.length, before, 'a refused request never reaches the provider');
      const d = await lastDecision(refusing);
      assert.equal(d.outcome, 'refuse');
      assert.equal(d.rule, 'tools');
    });

    it('OpenAI chat: the legacy functions field is read too', async () => {
      const client = await openai(refusing);
      const err = await raised(client.chat.completions.create({ model: 'gpt-4o-mini', messages, functions: [{ name: 'Bash', parameters: schema }] }), OpenAI.PermissionDeniedError);
      assert.match(err.message, /'Bash'/);
    });

    it('OpenAI Responses: a built-in tool is named by its type', async () => {
      const client = await openai(refusing);
      for (const stream of [false, true]) {
        const err = await raised(client.responses.create({ model: 'gpt-4o-mini', input: 'hi', tools: [{ type: 'code_interpreter', container: { type: 'auto' } }], stream }), OpenAI.PermissionDeniedError);
        assert.match(err.message, /not entitled to tool 'code_interpreter'/);
      }
    });

    it('Anthropic messages, streamed and not: PermissionDeniedError naming the tool', async () => {
      const client = await anthropic(refusing);
      for (const stream of [false, true]) {
        const err = await raised(client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages, tools: [{ name: 'Read', input_schema: schema }, { name: 'Bash', input_schema: schema }], stream }), Anthropic.PermissionDeniedError);
        assert.equal(err.status, 403);
        assert.match(err.message, /not entitled to tool 'Bash'/);
        assert.equal(err.headers.get('x-tollgate-rule'), 'tools');
      }
    });

    it('Gemini, streamed and not: ApiError 403 naming the function', async () => {
      const ai = await gemini(refusing);
      const config = { tools: [{ functionDeclarations: [{ name: 'Read' }, { name: 'Bash' }] }] };
      let err = await raised(ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi', config }), ApiError);
      assert.equal(err.status, 403);
      assert.match(err.message, /not entitled to tool 'Bash'/);
      err = await raised(ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi', config }).then(drain), ApiError);
      assert.equal(err.status, 403);
      // A built-in tool by its key: googleSearch is allowed, codeExecution is not.
      err = await raised(ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi', config: { tools: [{ googleSearch: {} }, { codeExecution: {} }] } }), ApiError);
      assert.match(err.message, /'codeExecution'/);
    });

    it('lets a request whose tools are all allowed through', async () => {
      const client = await openai(refusing);
      const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: [READ] });
      assert.equal(r.object, 'chat.completion');
      assert.deepEqual((mock.last().body!.tools as { function: { name: string } }[]).map((t) => t.function.name), ['Read']);
    });
  });

  describe('a declared tool outside the list is stripped (on_undeclared: strip)', () => {
    it('OpenAI chat, streamed: sent without the tool and a tool_choice naming it; the decision names what was stripped', async () => {
      const client = await openai(stripping);
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: [READ, BASH], tool_choice: { type: 'function', function: { name: 'Bash' } }, parallel_tool_calls: true, stream: true });
      await drain(stream);
      const seen = mock.last().body!;
      assert.deepEqual((seen.tools as { function: { name: string } }[]).map((t) => t.function.name), ['Read']);
      assert.equal(seen.tool_choice, undefined, 'a choice of a stripped tool goes');
      assert.equal(seen.parallel_tool_calls, true, 'kept while a tool is left');
      const d = await lastDecision(stripping);
      assert.equal(d.outcome, 'allow');
      assert.deepEqual(d.tools_stripped, ['Bash']);
    });

    it('OpenAI chat: with no tool left, every tool field goes, so the provider accepts the request', async () => {
      const client = await openai(stripping);
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: [BASH], tool_choice: 'required', parallel_tool_calls: false });
      const seen = mock.last().body!;
      for (const f of ['tools', 'tool_choice', 'parallel_tool_calls']) assert.equal(Object.hasOwn(seen, f), false, `${f} is gone`);
    });

    it('OpenAI Responses: a built-in tool is stripped by its type', async () => {
      const client = await openai(stripping);
      await client.responses.create({ model: 'gpt-4o-mini', input: 'hi', tools: [{ type: 'function', name: 'Read', parameters: schema, strict: false }, { type: 'code_interpreter', container: { type: 'auto' } }] });
      assert.deepEqual((mock.last().body!.tools as { type: string }[]).map((t) => t.type), ['function']);
    });

    it('Anthropic: sent without the tool; with none left, without tool_choice', async () => {
      const client = await anthropic(stripping);
      await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages, tools: [{ name: 'Bash', input_schema: schema }], tool_choice: { type: 'any' } });
      const seen = mock.last().body!;
      assert.equal(Object.hasOwn(seen, 'tools'), false);
      assert.equal(Object.hasOwn(seen, 'tool_choice'), false);
      await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages, tools: [{ name: 'Read', input_schema: schema }, { name: 'Bash', input_schema: schema }], stream: true }).then(drain);
      assert.deepEqual((mock.last().body!.tools as { name: string }[]).map((t) => t.name), ['Read']);
    });

    it('Gemini: the function declaration and its name in the function-calling config go', async () => {
      const ai = await gemini(stripping);
      await ai.models.generateContent({
        model: 'gemini-2.5-flash', contents: 'hi',
        config: { tools: [{ functionDeclarations: [{ name: 'Read' }, { name: 'Bash' }] }, { codeExecution: {} }], toolConfig: { functionCallingConfig: { allowedFunctionNames: ['Read', 'Bash'] } } },
      });
      const seen = mock.last().body!;
      assert.deepEqual(seen.tools, [{ functionDeclarations: [{ name: 'Read' }] }]);
      assert.deepEqual((seen.toolConfig as { functionCallingConfig: unknown }).functionCallingConfig, { allowedFunctionNames: ['Read'] });
      const d = await lastDecision(stripping);
      assert.deepEqual(d.tools_stripped, ['Bash', 'codeExecution']);
    });
  });

  describe('tool calls in responses are counted on the settle record', () => {
    const cases: { name: string; call: (proxy: TestProxy) => Promise<void> }[] = [
      { name: 'OpenAI chat', call: async (p) => void (await (await openai(p)).chat.completions.create({ model: 'gpt-4o-mini', messages, tools: [READ] })) },
      { name: 'OpenAI chat, streamed', call: async (p) => drain(await (await openai(p)).chat.completions.create({ model: 'gpt-4o-mini', messages, tools: [READ], stream: true })) },
      { name: 'OpenAI Responses', call: async (p) => void (await (await openai(p)).responses.create({ model: 'gpt-4o-mini', input: 'hi', tools: [{ type: 'function', name: 'Read', parameters: schema, strict: false }] })) },
      { name: 'OpenAI Responses, streamed', call: async (p) => drain(await (await openai(p)).responses.create({ model: 'gpt-4o-mini', input: 'hi', tools: [{ type: 'function', name: 'Read', parameters: schema, strict: false }], stream: true })) },
      { name: 'Anthropic', call: async (p) => void (await (await anthropic(p)).messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages, tools: [{ name: 'Read', input_schema: schema }] })) },
      { name: 'Anthropic, streamed', call: async (p) => drain(await (await anthropic(p)).messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages, tools: [{ name: 'Read', input_schema: schema }], stream: true })) },
      { name: 'Gemini', call: async (p) => void (await (await gemini(p)).models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi', config: { tools: [{ functionDeclarations: [{ name: 'Read' }] }] } })) },
      { name: 'Gemini, streamed', call: async (p) => drain(await (await gemini(p)).models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi', config: { tools: [{ functionDeclarations: [{ name: 'Read' }] }] } })) },
    ];
    for (const c of cases) {
      it(`${c.name}: tool_calls and the tool names`, async () => {
        mock.next.push({ kind: 'tool-calls', names: ['Read', 'Grep'] });
        await c.call(refusing);
        const d = await lastDecision(refusing);
        assert.equal(d.outcome, 'allow');
        const s = await settleOf(refusing, d.id);
        assert.equal(s.tool_calls, 2);
        assert.deepEqual(s.tool_names, ['Read', 'Grep']);
      });
    }

    it('a reply without tool calls settles 0, and the export carries the columns on every settle record', async () => {
      await (await openai(refusing)).chat.completions.create({ model: 'gpt-4o-mini', messages });
      const d = await lastDecision(refusing);
      const s = await settleOf(refusing, d.id);
      assert.equal(s.tool_calls, 0);
      assert.deepEqual(s.tool_names, []);
      const header = csvHeader().trim().split(',');
      const row = (r: AuditRecord): string[] => csvRow(r).trim().split(',');
      const at = header.indexOf('tool_calls');
      assert.ok(at > 0 && header.indexOf('tool_names') > at, 'the new columns are appended');
      assert.equal(row(s)[at], '0');
    });
  });

  describe('cost: tool_calls', () => {
    it('stops a runaway tool loop once the limit is spent: the next call is refused 429 with retry-after', async () => {
      const client = await openai(refusing, 'looping');
      // Each turn the model asks for two tool calls; the limit allows 3 in an hour.
      for (let turn = 0; turn < 2; turn++) {
        mock.next.push({ kind: 'tool-calls', names: ['Read', 'Grep'] });
        await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: [READ] });
        const d = await lastDecision(refusing);
        await settleOf(refusing, d.id);
      }
      const err = await raised(client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: [READ] }), OpenAI.RateLimitError);
      assert.equal(err.status, 429);
      assert.equal(err.headers.get('x-tollgate-rule'), 'tool-loop');
      assert.ok(Number(err.headers.get('retry-after')) > 0, 'waiting helps: the window slides');
      assert.match(err.message, /tool call/);
      // A call declaring no tools can make no tool call: the spent limit does not hold it up.
      const plain = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
      assert.equal(plain.object, 'chat.completion');
    });
  });
});
