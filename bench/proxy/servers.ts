// The processes the proxy benchmark measures, one per role so none shares an event loop with the
// load generator: `upstream` (a minimal OpenAI-style server) and `bare` (http-proxy, nothing else).
// Usage: node servers.js upstream | node servers.js bare <upstream-url>
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import httpProxy from 'http-proxy';

const reply = JSON.stringify({
  id: 'chatcmpl-1', object: 'chat.completion', created: 0, model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the benchmark upstream' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 8, total_tokens: 20 },
});

function upstream(): http.Server {
  return http.createServer((req, res) => {
    let stream = false;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        stream = (JSON.parse(Buffer.concat(chunks).toString() || '{}') as { stream?: boolean }).stream === true;
      } catch {
        stream = false;
      }
      if (!stream) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply) });
        res.end(reply);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < 8; i++) res.write(`data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"word "}}],"usage":null}\n\n`);
      res.write('data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":8}}\n\n');
      res.end('data: [DONE]\n\n');
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
    req.url = (req.url ?? '').replace(/^\/openai/, '');
    proxy.web(req, res);
  });
}

const [role, target] = process.argv.slice(2);
const server = role === 'upstream' ? upstream() : bare(target!);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
