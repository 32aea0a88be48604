import * as net from 'node:net';

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * Sends one HTTP/1.1 request exactly as written (request target, header spelling and all) and
 * reads the answer; for requests a well-behaved client library refuses to send.
 */
export function rawRequest(
  base: string,
  o: { method?: string; target: string; headers?: Record<string, string>; body?: string; timeoutMs?: number },
): Promise<RawResponse> {
  const { hostname, port, host } = new URL(base);
  const body = o.body ?? '';
  const headers: Record<string, string> = { host, connection: 'close', ...(o.headers ?? {}) };
  if (body && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) headers['content-length'] = String(Buffer.byteLength(body));
  const head = [`${o.method ?? 'POST'} ${o.target} HTTP/1.1`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)].join('\r\n');
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname.replace(/^\[|\]$/g, ''));
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer to ${o.method ?? 'POST'} ${o.target} within ${o.timeoutMs ?? 10_000} ms`));
    }, o.timeoutMs ?? 10_000);
    socket.on('connect', () => socket.write(`${head}\r\n\r\n${body}`));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return reject(new Error(`the connection closed without a complete answer: ${JSON.stringify(text.slice(0, 200))}`));
      const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
      const out: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        out[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      let rest = text.slice(split + 4);
      if (/chunked/i.test(out['transfer-encoding'] ?? '')) rest = dechunk(rest);
      resolve({ status: Number(statusLine!.split(' ')[1]), headers: out, body: rest });
    });
  });
}

function dechunk(s: string): string {
  let out = '';
  let i = 0;
  for (;;) {
    const eol = s.indexOf('\r\n', i);
    if (eol < 0) return out;
    const size = parseInt(s.slice(i, eol), 16);
    if (!size) return out;
    out += s.slice(eol + 2, eol + 2 + size);
    i = eol + 2 + size + 2;
  }
}
