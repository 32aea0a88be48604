import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { MalformedRequestError } from '../../../src/contracts/call';
import { detect, detectorsOf } from '../../../src/engine/classify';
import { describeRequest, IN_THREAD_LIMIT } from '../../../src/proxy/describe/describe';
import type { BodyWhere } from '../../../src/pipeline/describe-port';
import { describeBody, DescribeThreadError } from '../../../src/proxy/describe/job';
import { DescribePool, spawnDescribeThread } from '../../../src/proxy/describe/pool';
import { ProxyError } from '../../../src/pipeline/errors';
import { referencePolicy } from '../../helpers/policy';
import { eventually } from '../../helpers/poll';
import { base64Blob, prose, run } from '../../helpers/texts';

const chat: BodyWhere = { style: 'openai', provider: 'openai', route: '/v1/chat/completions', method: 'POST', passthrough: false };
const messages: BodyWhere = { style: 'anthropic', provider: 'anthropic', route: '/v1/messages', method: 'POST', passthrough: false };
const names = detectorsOf(referencePolicy());

/** Each call makes a fresh Buffer: a body's bytes move to the thread that describes it. */
const body = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));

describe('describing a request body off the request thread', () => {
  let pool: DescribePool;
  const spawned: Worker[] = [];
  before(() => {
    pool = new DescribePool(1, () => {
      const w = spawnDescribeThread();
      spawned.push(w);
      return w;
    });
  });
  after(() => pool.close());

  it('reads a body on a thread as the request thread does, with the detectors\' findings in place of the texts', async () => {
    const o = {
      model: 'claude-haiku-4-5', max_tokens: 100, system: 'Be brief.',
      messages: [{ role: 'user', content: [{ type: 'text', text: `${prose(30_000)} write to jane.doe@example.com` }, { type: 'text', text: run('é', 5_000) }] }],
    };
    const here = describeBody(body(o), messages);
    const there = await pool.run(body(o), messages, names);
    assert.equal(there.body.kind, 'raw', 'a large body comes back as its bytes, not parsed');
    assert.equal(here.body.kind, 'parsed');
    if (there.body.kind === 'raw' && here.body.kind === 'parsed') assert.deepEqual(JSON.parse(there.body.bytes.toString('utf8')), here.body.json);
    assert.deepEqual(there.call, { ...here.call, texts: [] });
    assert.deepEqual(there.detected, detect(here.call.texts, names));
    assert.deepEqual(there.detected, ['email']);
  });

  it('fails on a thread with the errors the request thread would raise', async () => {
    const depth = 100_000;
    const bodies = [
      Buffer.from('{"model": "gpt-4o-mini", "messages": ['),
      body({ messages: [{ role: 'user', content: 'x' }] }),
      Buffer.from(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x","tool_calls":${'['.repeat(depth)}${']'.repeat(depth)}}]}`),
    ];
    for (const b of bodies) {
      let here: unknown;
      try {
        describeBody(Buffer.from(b), chat);
      } catch (err) {
        here = err;
      }
      assert.ok(ProxyError.is(here) || MalformedRequestError.is(here), String(here));
      await assert.rejects(pool.run(b, chat, names), (there: unknown) => (there as Error).constructor === (here as Error).constructor && (there as Error).message === (here as Error).message);
    }
  });

  it('replaces a thread lost while it held a body: that body fails, the next is described', async () => {
    const slow = body({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: base64Blob(400_000) }] });
    const lost = pool.run(slow, chat, names);
    const holder = spawned.at(-1)!;
    await new Promise((r) => setTimeout(r, 20));
    await holder.terminate();
    await assert.rejects(lost, (err: unknown) => DescribeThreadError.is(err, 'thread-lost'));
    const next = await pool.run(body({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] }), chat, names);
    assert.equal(next.call.model, 'gpt-4o-mini');
    assert.notEqual(spawned.at(-1), holder, 'a new thread took the next body');
  });

  it('ends its threads once idle', async () => {
    const idle = new DescribePool(1, spawnDescribeThread, 50);
    await idle.run(body({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] }), chat, names);
    assert.equal(idle.threads, 1);
    await eventually(() => idle.threads === 0, 'the idle thread to end');
  });

  it('never keeps the process alive with an idle thread', async function () {
    this.timeout(60_000);
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'idle-pool-child.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    const code = await exited;
    clearTimeout(timer);
    assert.equal(code, 0, 'the process ended by itself, not killed');
    assert.match(out, /^described \d+/);
  });

  it('keeps a small body on the request thread and hands a large one to a thread', async () => {
    const policy = referencePolicy();
    const small = await describeRequest(body({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'mail bob@acme.dev' }] }), chat, policy);
    assert.equal(small.detected, undefined, 'the engine runs the detectors on a small body');
    assert.deepEqual(small.call.texts, ['mail bob@acme.dev']);
    const large = await describeRequest(body({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `mail bob@acme.dev ${prose(IN_THREAD_LIMIT)}` }] }), chat, policy);
    assert.deepEqual(large.detected, ['email']);
    assert.deepEqual(large.call.texts, []);
  });
});
