// CPU the key redactor adds to one response, measured alone: the proxy bench (run.ts) cannot see a
// few microseconds against its ~800 µs per call on two shared cores. Every header name and value
// and the body go through it, as relay.ts sends them, for replies and streams without the key (the
// common case) and with it.
// Run from the repository root: node bench/run.js bench/proxy/redact.ts [iterations]
import { KeyPattern, KeyRedactor, redactBytes, redactHeaderText } from '../../src/proxy/key-redactor';

const iterations = Number(process.argv[2] ?? 200_000);
// Shaped like a project key, assembled at run time; and the proxy bench's own short key.
const alnum = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const random = (n: number): string => Array.from({ length: n }, (_, i) => alnum[(i * 7919 + 13) % alnum.length]).join('');
const keys = { 'bench key (18 B)': 'bench-upstream-key', 'project-shaped key (164 B)': ['sk', 'proj', random(156)].join('-') };

const headers: Record<string, string> = {
  'content-type': 'application/json', date: new Date(0).toUTCString(), 'openai-processing-ms': '312', 'openai-version': '2020-10-01',
  'x-request-id': 'req_0123456789abcdef0123456789abcdef', 'x-ratelimit-limit-requests': '10000', 'x-ratelimit-remaining-requests': '9999',
  'x-ratelimit-reset-requests': '6ms', 'strict-transport-security': 'max-age=31536000; includeSubDomains; preload', 'cf-ray': '8f0a1b2c3d4e5f60-FRA',
};
const reply = JSON.stringify({
  id: 'chatcmpl-1', object: 'chat.completion', created: 0, model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the benchmark upstream' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 8, total_tokens: 20 },
});
const longReply = JSON.stringify({ choices: [{ message: { content: 'Streams of tokens, sentences and paragraphs: a long answer. '.repeat(270) } }] });
const events = [
  ...Array.from({ length: 8 }, () => 'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"word "}}],"usage":null}\n\n'),
  'data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":8}}\n\n',
  'data: [DONE]\n\n',
].map((e) => Buffer.from(e));

function measure(run: () => void): number {
  for (let i = 0; i < Math.min(iterations, 20_000); i++) run();
  const start = process.cpuUsage();
  for (let i = 0; i < iterations; i++) run();
  const used = process.cpuUsage(start);
  return ((used.user + used.system) / iterations);
}

console.log(`node ${process.version}; ${iterations} responses each; CPU µs per response (headers and body)`);
console.log('| key | response | bytes | without the key µs | with the key once µs |\n|---|---|---|---|---|');
for (const [label, key] of Object.entries(keys)) {
  const values = KeyPattern.of([key])!;
  const names = KeyPattern.of([key], true)!;
  const redactHeaders = (): void => {
    for (const [name, value] of Object.entries(headers)) {
      redactHeaderText(names, name);
      redactHeaderText(values, value);
    }
  };
  const bodies: Array<[string, Buffer[], Buffer[]]> = [
    ['reply', [Buffer.from(reply)], [Buffer.from(reply.replace('benchmark', key))]],
    ['reply, 16 KB', [Buffer.from(longReply)], [Buffer.from(longReply.replace('a long', key))]],
    ['stream, 10 events', events, events.map((e, i) => (i === 3 ? Buffer.from(e.toString().replace('word', key)) : e))],
  ];
  for (const [name, clean, dirty] of bodies) {
    const one = (chunks: Buffer[]): (() => void) =>
      chunks.length === 1
        ? () => {
            redactHeaders();
            redactBytes(values, chunks[0]!);
          }
        : () => {
            redactHeaders();
            const r = new KeyRedactor(values);
            for (const c of chunks) r.push(c);
            r.end();
          };
    const bytes = clean.reduce((n, c) => n + c.length, 0);
    console.log(`| ${label} | ${name} | ${bytes} | ${measure(one(clean)).toFixed(2)} | ${measure(one(dirty)).toFixed(2)} |`);
  }
}
