// Tollgate's settings as one typed object. The adapter passes VS Code's configuration getter in;
// every value is parsed with a safe fallback so a hand-edited settings.json never breaks activation
// (the agents' scopes keep what does not read, so their agents are refused a token, not widened).

import type { AgentScopeSettings } from './agent-scopes';
import { parseAgentScopes } from './agent-scopes';

export interface TollgateConfig {
  /** Policy file (absolute or workspace-relative); empty: workspace `tollgate.yaml`, else the bundled reference. */
  readonly policyPath: string;
  /** The developer's e-mail for the session token; empty: `git config user.email`. */
  readonly user: string;
  readonly agent: string;
  readonly tokenTtlHours: number;
  /** Per coding agent, the narrower token it gets in new terminals. */
  readonly agentScopes: AgentScopeSettings;
  readonly proxy: {
    readonly autoStart: boolean;
    /** 0 lets the OS choose; the chosen port is then kept across restarts. */
    readonly port: number;
    /** Data dir override; empty: the extension's global storage. */
    readonly dataDir: string;
    /** Upstream URL overrides by provider name (for a company gateway or a local mock). */
    readonly upstreams: Readonly<Record<string, string>>;
  };
  readonly terminal: { readonly injectEnvironment: boolean };
  readonly scan: { readonly enabled: boolean; readonly debounceMs: number; readonly maxFileBytes: number };
  readonly statusBar: { readonly warnAt: number };
}

export type ConfigGetter = (key: string) => unknown;

function str(v: unknown, fallback: string): string {
  return typeof v === 'string' ? v.trim() : fallback;
}
function bool(v: unknown, fallback: boolean): boolean {
  return typeof v === 'boolean' ? v : fallback;
}
function num(v: unknown, fallback: number, min: number, max: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max ? v : fallback;
}
function urlMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return out;
  for (const [name, url] of Object.entries(v as Record<string, unknown>)) {
    if (!/^[a-z][a-z0-9-]*$/.test(name) || typeof url !== 'string') continue;
    try {
      const u = new URL(url);
      if (u.protocol === 'http:' || u.protocol === 'https:') out[name] = url;
    } catch {
      // Not a URL: ignored, like any other malformed setting.
    }
  }
  return out;
}

export function parseConfiguration(get: ConfigGetter): TollgateConfig {
  return {
    policyPath: str(get('policyPath'), ''),
    user: str(get('user'), ''),
    agent: str(get('agent'), 'vscode') || 'vscode',
    tokenTtlHours: num(get('tokenTtlHours'), 8, 0.1, 24 * 30),
    agentScopes: parseAgentScopes(get('agentScopes')),
    proxy: {
      autoStart: bool(get('proxy.autoStart'), true),
      port: Math.floor(num(get('proxy.port'), 0, 0, 65535)),
      dataDir: str(get('proxy.dataDir'), ''),
      upstreams: urlMap(get('proxy.upstreams')),
    },
    terminal: { injectEnvironment: bool(get('terminal.injectEnvironment'), true) },
    scan: {
      enabled: bool(get('scan.enabled'), true),
      debounceMs: Math.floor(num(get('scan.debounceMs'), 300, 0, 10_000)),
      maxFileBytes: Math.floor(num(get('scan.maxFileBytes'), 1_000_000, 1024, 50_000_000)),
    },
    statusBar: { warnAt: num(get('statusBar.warnAt'), 0.8, 0.05, 1) },
  };
}
