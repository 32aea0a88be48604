// Latency to sub-millisecond resolution (autocannon reports whole milliseconds): `callers` loops,
// each sending one call at a time on its own keep-alive connection and timing it, from the first
// byte written to the last byte of the response read, with `process.hrtime.bigint()`.
import * as http from 'node:http';

/** One call's request: the body and the headers to send. */
export interface CallSpec {
  readonly body: string;
  readonly headers: Record<string, string>;
}

export interface LatencyResult {
  readonly calls: number;
  readonly failed: number;
  /** Milliseconds, each call's, sorted. */
  readonly sortedMs: Float64Array;
  readonly seconds: number;
}

/** The value below which `q` (0..1) of the sorted samples fall (nearest rank). */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function callOnce(agent: http.Agent, url: URL, spec: CallSpec): Promise<{ ms: number; ok: boolean }> {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(spec.body), ...spec.headers } }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6, ok: res.statusCode === 200 }));
      res.on('error', () => resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6, ok: false }));
    });
    req.on('error', () => resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6, ok: false }));
    req.end(spec.body);
  });
}

/**
 * Runs `callers` loops for `seconds` (after `warmupCalls` untimed calls per caller, which also open
 * the connections) against `url`; `next(n)` gives call n's request.
 */
export async function measureLatency(url: string, callers: number, seconds: number, next: (n: number) => CallSpec, warmupCalls = 5): Promise<LatencyResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: callers });
  const target = new URL(url);
  let n = 0;
  await Promise.all(Array.from({ length: callers }, async () => {
    for (let i = 0; i < warmupCalls; i++) await callOnce(agent, target, next(n++));
  }));
  const samples: number[] = [];
  let failed = 0;
  const started = process.hrtime.bigint();
  const until = started + BigInt(Math.round(seconds * 1e9));
  await Promise.all(Array.from({ length: callers }, async () => {
    while (process.hrtime.bigint() < until) {
      const r = await callOnce(agent, target, next(n++));
      if (r.ok) samples.push(r.ms);
      else failed++;
    }
  }));
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  const sortedMs = Float64Array.from(samples).sort();
  return { calls: samples.length + failed, failed, sortedMs, seconds: elapsed };
}
