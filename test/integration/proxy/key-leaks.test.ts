// An upstream that echoes the key it was sent, in every place a response has: the proxy must let
// no spelling of it through, in any header or body, streamed or not, at any status.

import assert from 'node:assert/strict';
import * as http from 'node:http';
import { holdsKey, spellKey } from '../../helpers/key-spellings';
import { MockUpstream } from '../../helpers/mock-upstream';
import type { SeenRequest } from '../../helpers/mock-upstream';
import { eventually } from '../../helpers/poll';
import { startTestProxy, UPSTREAM_KEY } from '../../helpers/proxy';
import type { TestProxy } from '../../helpers/proxy';

interface Reply {
  readonly status: number;
  readonly rawHeaders: readonly string[];
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** The key the mock was sent, as the provider's header carries it. */
function keyOf(req: SeenRequest): string {
  return String(req.headers['x-api-key'] ?? String(req.headers.authorization).replace(/^Bearer /, ''));
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A chat completion whose text is `content`, spliced into the JSON as written (so escapes in it stay escapes). */
function completionJson(content: string): string {
  const json = JSON.stringify({
    id: 'chatcmpl-1', object: 'chat.completion', created: 0, model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content: '@@' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 13, completion_tokens: 5, total_tokens: 18 },
  });
  return json.replace('"@@"', `"${content}"`);
}

function chunkEvent(content: string, usage?: { prompt_tokens: number; completion_tokens: number }): string {
  const event = { id: 'c1', object: 'chat.completion.chunk', created: 0, model: 'gpt-4o-mini', choices: usage ? [] : [{ index: 0, delta: { content: '@@' }, finish_reason: null }], usage: usage ?? null };
  return `data: ${JSON.stringify(event).replace('"@@"', `"${content}"`)}\n\n`;
}

describe('no byte of the upstream key reaches the client', () => {
  let mock: MockUpstream;
  let p: TestProxy;
  let token: string;
  /** What the client has received so far on the current call. */
  let received = Buffer.alloc(0);

  before(async () => {
    mock = new MockUpstream();
    p = await startTestProxy(await mock.start());
    token = await p.token('bob@acme.dev');
  });
  after(async () => {
    await p.stop();
    await mock.stop();
  });

  function call(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    received = Buffer.alloc(0);
    const text = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request(`${p.url}${path}`, { method: 'POST', agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers } }, (res) => {
        res.on('data', (c: Buffer) => (received = Buffer.concat([received, c])));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, rawHeaders: res.rawHeaders, headers: res.headers, body: received }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(text);
    });
  }
  const chat = (body: Record<string, unknown> = {}): Promise<Reply> => call('/openai/v1/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'echo' }], ...body });
  const until = (text: string): Promise<unknown> => eventually(() => received.toString('latin1').includes(text), `the client to receive ${JSON.stringify(text)}`);

  async function settled(reply: Reply): Promise<{ input_tokens: number | null; output_tokens: number | null }> {
    const id = reply.headers['x-tollgate-decision'];
    await eventually(async () => (await p.records()).some((r) => r.kind === 'settle' && r.decision === id), 'the settle record');
    const settle = (await p.records()).find((r) => r.kind === 'settle' && r.decision === id);
    assert.ok(settle?.kind === 'settle');
    return settle.usage;
  }

  for (const status of [200, 302, 401, 500]) {
    it(`cuts the key out of header values and drops headers named after it (status ${status})`, async () => {
      mock.next.push({
        kind: 'custom',
        handle: (req, res) => {
          const key = keyOf(req);
          const body = status === 200 ? completionJson('hi') : JSON.stringify({ error: { message: 'no', type: 'invalid_request_error' } });
          res.writeHead(status, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'x-echo-key': `Bearer ${key}`,
            // A redirect that carries the key in its query, percent-encoded as a URL would be, or only in part.
            location: `https://example.test/retry?key=${encodeURIComponent(key)}&again=${spellKey(key, ['percent', 'literal'])}`,
            'x-echo-escaped': spellKey(key, ['json', 'literal', 'literal']),
            [`x-echo-${key}`]: '1',
            'set-cookie': [`session=${key}; Path=/`, 'other=2'],
          });
          res.end(body);
        },
      });
      const r = await chat();
      assert.equal(keyOf(mock.last()), UPSTREAM_KEY, 'the mock was sent the key and echoed it');
      assert.equal(r.status, status);
      const headerText = r.rawHeaders.join('\n');
      assert.ok(!holdsKey(UPSTREAM_KEY, headerText), headerText);
      assert.ok(!headerText.toLowerCase().includes(UPSTREAM_KEY.toLowerCase()), 'not even lower-cased in a header name');
      assert.equal(r.headers['x-echo-key'], 'Bearer [redacted]');
      assert.equal(r.headers.location, 'https://example.test/retry?key=[redacted]&again=[redacted]');
      assert.equal(r.headers['x-echo-escaped'], '[redacted]');
      assert.deepEqual(r.headers['set-cookie'], ['session=[redacted]; Path=/', 'other=2']);
      assert.equal(Number(r.headers['content-length']), r.body.length);
      assert.ok(r.headers['x-tollgate-decision']);
    });
  }

  it('cuts the key out of a 2xx JSON body in any mix of escapes, with a content-length that matches and usage still read', async () => {
    mock.next.push({
      kind: 'custom',
      handle: (req, res) => {
        const key = keyOf(req);
        // \u escapes in both hex cases, literal characters and a percent-encoded copy.
        const escaped = spellKey(key, ['json', 'literal', 'json'], [true, false, false]);
        const body = completionJson(`echo ${escaped} and ${spellKey(key, ['percent'])}`);
        assert.equal((JSON.parse(body) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content.slice(5, 5 + key.length), key, 'the escapes decode to the key');
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      },
    });
    const r = await chat();
    assert.equal(r.status, 200);
    assert.ok(!holdsKey(UPSTREAM_KEY, r.body), r.body.toString());
    const json = JSON.parse(r.body.toString()) as { choices: Array<{ message: { content: string } }> };
    assert.equal(json.choices[0]!.message.content, 'echo [redacted] and [redacted]');
    assert.equal(Number(r.headers['content-length']), r.body.length);
    assert.deepEqual(await settled(r), { input_tokens: 13, output_tokens: 5 });
  });

  it('cuts the key out of a body sent without a length, the key split across writes', async () => {
    mock.next.push({
      kind: 'custom',
      handle: (req, res) => {
        const body = completionJson(`echo ${spellKey(keyOf(req), ['literal', 'json'])}`);
        const at = body.indexOf('echo ') + 5;
        res.writeHead(200, { 'content-type': 'application/json' });
        void (async () => {
          for (const [from, to] of [[0, at + 3], [at + 3, at + 9], [at + 9, at + 30], [at + 30, body.length]] as const) {
            res.write(body.slice(from, to));
            await wait(5);
          }
          res.end();
        })();
      },
    });
    const r = await chat();
    assert.ok(!holdsKey(UPSTREAM_KEY, r.body), r.body.toString());
    assert.equal((JSON.parse(r.body.toString()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content, 'echo [redacted]');
    assert.equal(r.headers['content-length'], undefined, 'a length the redaction would falsify is not sent');
    assert.deepEqual(await settled(r), { input_tokens: 13, output_tokens: 5 });
  });

  it('lets nothing of a held reply out when the upstream breaks it off: 502 naming the decision, or a closed connection', async () => {
    mock.next.push({
      kind: 'custom',
      handle: (req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 1000 });
        res.write(`{"echo":"${keyOf(req)}`);
        // Before the decision is durable the proxy can only close the connection; after, it answers.
        setTimeout(() => res.socket?.destroy(), 50);
      },
    });
    const r = await chat().catch(() => undefined);
    assert.ok(!holdsKey(UPSTREAM_KEY, received), received.toString());
    if (r) {
      assert.equal(r.status, 502);
      assert.match(r.body.toString(), /broke off/);
      assert.ok(r.headers['x-tollgate-decision']);
    }
  });

  it('passes a reply without the key through byte for byte, with its content-length', async () => {
    const body = completionJson('nothing secret here: sk-\\u0073 %73k');
    mock.next.push({
      kind: 'custom',
      handle: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      },
    });
    const r = await chat();
    assert.equal(r.body.toString(), body);
    assert.equal(r.headers['content-length'], String(Buffer.byteLength(body)));
  });

  // The stream waits for the client at each step, so an event the proxy held back would stop it.
  // Passed through, even the bytes of an event before the key flow at once; rewritten (usage
  // stripped), events go out whole, as they did before keys were looked for.
  function echoingStream(o: { partialEventsFlow: boolean }): (req: SeenRequest, res: http.ServerResponse) => void {
    return (req, res) => {
      const spelled = spellKey(keyOf(req), ['literal', 'literal', 'json'], [false, true]);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      void (async () => {
        res.write(chunkEvent('Hello'));
        await until('Hello');
        // An event cut in the middle of the key.
        const event = chunkEvent(`the key is ${spelled} ok`);
        const at = event.indexOf('the key is ') + 'the key is '.length;
        res.write(event.slice(0, at + 4));
        if (o.partialEventsFlow) await until('the key is ');
        res.write(event.slice(at + 4, at + 20));
        await wait(5);
        res.write(event.slice(at + 20));
        await until(' ok');
        res.write(chunkEvent('bye'));
        res.write(chunkEvent('', { prompt_tokens: 17, completion_tokens: 4 }));
        res.end('data: [DONE]\n\n');
      })().catch(() => res.destroy());
    };
  }

  it('cuts the key out of streamed events, split across chunks, while every event flows at once (usage the client asked for)', async () => {
    mock.next.push({ kind: 'custom', handle: echoingStream({ partialEventsFlow: true }) });
    const r = await chat({ stream: true, stream_options: { include_usage: true } });
    const text = r.body.toString();
    assert.ok(!holdsKey(UPSTREAM_KEY, text), text);
    assert.match(text, /the key is \[redacted\] ok/);
    assert.match(text, /"prompt_tokens":17/, 'the usage the client asked for reaches it');
    assert.deepEqual(await settled(r), { input_tokens: 17, output_tokens: 4 });
  });

  it('cuts the key out of streamed events when the proxy rewrites them to strip usage the client did not ask for', async () => {
    mock.next.push({ kind: 'custom', handle: echoingStream({ partialEventsFlow: false }) });
    const r = await chat({ stream: true });
    const text = r.body.toString();
    assert.deepEqual(mock.last().body?.stream_options, { include_usage: true });
    assert.ok(!holdsKey(UPSTREAM_KEY, text), text);
    assert.match(text, /the key is \[redacted\] ok/);
    assert.doesNotMatch(text, /usage/, 'usage the client did not ask for is stripped');
    assert.match(text, /data: \[DONE\]\n\n$/);
    assert.deepEqual(await settled(r), { input_tokens: 17, output_tokens: 4 });
  });

  it('cuts the key out of an event-stream error body', async () => {
    mock.next.push({
      kind: 'custom',
      handle: (req, res) => {
        const body = `event: error\ndata: {"error":{"message":"Incorrect API key provided: ${spellKey(keyOf(req), ['json', 'literal'], [true])}","type":"invalid_request_error"}}\n\n`;
        const at = body.indexOf('provided: ') + 12;
        res.writeHead(401, { 'content-type': 'text/event-stream' });
        res.write(body.slice(0, at));
        setTimeout(() => res.end(body.slice(at)), 5);
      },
    });
    const r = await chat({ stream: true });
    assert.equal(r.status, 401);
    assert.ok(!holdsKey(UPSTREAM_KEY, r.body), r.body.toString());
    assert.match(r.body.toString(), /Incorrect API key provided: \[redacted\]"/);
  });

  it('cuts the key out of an Anthropic error event in the middle of a stream', async () => {
    mock.next.push({
      kind: 'custom',
      handle: (req, res) => {
        const key = keyOf(req);
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-haiku-4-5', content: [], usage: { input_tokens: 9, output_tokens: 1 } } })}\n\n`);
        const error = `event: error\ndata: {"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key ${spellKey(key, ['percent', 'json', 'literal'])}"}}\n\n`;
        for (let i = 0; i < error.length; i += 7) res.write(error.slice(i, i + 7));
        res.end();
      },
    });
    const r = await call('/anthropic/v1/messages', { model: 'claude-haiku-4-5', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'echo' }] }, { 'anthropic-version': '2023-06-01' });
    assert.equal(keyOf(mock.last()), UPSTREAM_KEY);
    assert.ok(!holdsKey(UPSTREAM_KEY, r.body), r.body.toString());
    assert.match(r.body.toString(), /invalid x-api-key \[redacted\]"/);
  });
});
