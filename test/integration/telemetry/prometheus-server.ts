import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../helpers/redis';
import { ensureServerBinary } from '../../helpers/server-binary';

// A throwaway Prometheus for tests: Debian's package (scripts/ensure-prometheus.sh installs it when
// missing, never starting its service), run here on a free loopback port with a temporary config
// and storage dir, scraping one target every second, stopped by the test.

/** The prometheus path; installs the package once per test run if needed. */
export function ensurePrometheusBinary(): Promise<string> {
  return ensureServerBinary('ensure-prometheus.sh', 'prometheus for the metrics tests');
}

export interface ScrapeTarget {
  /** host:port of the proxy. */
  readonly address: string;
  /** The file holding the metrics endpoint's bearer token, or undefined for an open endpoint. */
  readonly tokenFile?: string;
}

/** One sample of an instant query's vector result. */
export interface Sample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

export interface TestPrometheus {
  readonly url: string;
  /** The scrape configuration this Prometheus runs with, as written to its config file. */
  readonly config: string;
  /** An instant query over the HTTP API (/api/v1/query); rejects on an API error. */
  query(promql: string): Promise<Sample[]>;
  /** The scrape target's health as Prometheus reports it (up, down, unknown) and its last error. */
  target(): Promise<{ health: string; lastError: string }>;
  stop(): Promise<void>;
}

/** The scrape_config the docs show, pointed at one target. */
export function scrapeConfig(t: ScrapeTarget): string {
  return [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    'scrape_configs:',
    '  - job_name: tollgate',
    '    metrics_path: /_tollgate/metrics',
    ...(t.tokenFile ? ['    authorization:', '      type: Bearer', `      credentials_file: ${t.tokenFile}`] : []),
    '    static_configs:',
    `      - targets: ['${t.address}']`,
    '',
  ].join('\n');
}

async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/-/ready`)).ok;
  } catch {
    return false;
  }
}

export async function startPrometheus(target: ScrapeTarget): Promise<TestPrometheus> {
  const bin = await ensurePrometheusBinary();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-prometheus-'));
  const config = scrapeConfig(target);
  writeFileSync(join(dir, 'prometheus.yml'), config);
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(bin, [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-20_000)));
  let exited = false;
  child.once('exit', () => (exited = true));

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolveStop) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolveStop();
        });
        child.kill('SIGTERM');
      });
    }
    rmSync(dir, { recursive: true, force: true });
  };

  for (let i = 0; ; i++) {
    if (await ready(url)) break;
    if (exited || i >= 300) {
      await stop();
      throw new Error(`prometheus did not become ready on ${url}: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    url,
    config,
    async query(promql: string): Promise<Sample[]> {
      const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await r.json()) as { status: string; error?: string; data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } };
      if (body.status !== 'success' || !body.data) throw new Error(`prometheus query ${promql}: ${body.error ?? r.status}`);
      return body.data.result.map((s) => ({ metric: s.metric, value: Number(s.value[1]) }));
    },
    async target(): Promise<{ health: string; lastError: string }> {
      const r = await fetch(`${url}/api/v1/targets`);
      const body = (await r.json()) as { data: { activeTargets: { health: string; lastError: string }[] } };
      const t = body.data.activeTargets[0];
      return { health: t?.health ?? 'none', lastError: t?.lastError ?? '' };
    },
    stop,
  };
}

/** The token file's content, for tests that must send the same token themselves. */
export function tokenIn(file: string): string {
  return readFileSync(file, 'utf8').trim();
}
