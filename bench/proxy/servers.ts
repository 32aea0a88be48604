// The processes the proxy benchmark measures, one per role so none shares an event loop with the
// load generator: `upstream` (a minimal OpenAI- and Anthropic-style server, answering at once or
// after a delay, as a model takes time) and `bare` (http-proxy, nothing else).
// Usage: node servers.js upstream [delay-ms] | node servers.js bare <upstream-url>
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import httpProxy from 'http-proxy';

const chatReply = JSON.stringify({
  id: 'chatcmpl-1', object: 'chat.completion', created: 0, model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the benchmark upstream' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 8, total_tokens: 20 },
});

const messagesReply = JSON.stringify({
  id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-haiku-4-5', content: [{ type: 'text', text: 'ok' }],
  stop_reason: 'end_turn', usage: { input_tokens: 40_000, output_tokens: 2 },
});

/** Whether a chat body asks for a stream, read without parsing it: the mock must cost little beside the proxies. */
function asksForStream(body: Buffer): boolean {
  return body.includes('"stream":true');
}

function upstream(delayMs: number): http.Server {
  // Calls answered so far, for the bench to check that a proxy's calls really reach this server.
  let answered = 0;
  return http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/calls') {
      res.end(String(answered));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = (): void => {
        answered++;
        if ((req.url ?? '').endsWith('/messages')) {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(messagesReply) });
          res.end(messagesReply);
          return;
        }
        if (!asksForStream(Buffer.concat(chunks))) {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(chatReply) });
          res.end(chatReply);
          return;
        }
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (let i = 0; i < 8; i++) res.write(`data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"word "}}],"usage":null}\n\n`);
        res.write('data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":8}}\n\n');
        res.end('data: [DONE]\n\n');
      };
      if (delayMs > 0) setTimeout(answer, delayMs);
      else answer();
    });
  });
}

function bare(target: string): http.Server {
  const proxy = httpProxy.createProxyServer({ target, agent: new http.Agent({ keepAlive: true, maxSockets: 512 }) });
  proxy.on('error', (_err, _req, res) => {
    (res as http.ServerResponse).writeHead(502);
    (res as http.ServerResponse).end();
  });
  return http.createServer((req, res) => {
    // The provider's prefix, as Tollgate's routes have it (/openai/v1/..., /anthropic/v1/...).
    req.url = (req.url ?? '').replace(/^\/(openai|anthropic)(?=\/)/, '');
    proxy.web(req, res);
  });
}

const [role, arg] = process.argv.slice(2);
const server = role === 'upstream' ? upstream(Number(arg ?? 0)) : bare(arg!);
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
