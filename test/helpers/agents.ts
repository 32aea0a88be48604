import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setUpCodexProvider } from '../../src/agents/codex-config';

// The real coding agents from npm as test clients, each run hermetically: HOME and CODEX_HOME in a
// temporary directory, an environment built from nothing (no key or proxy setting of the machine
// leaks in), telemetry, update checks and other non-essential traffic off, any stray attempt to
// reach the internet sent to a dead local port, and a bounded run whose output is captured.

const bin = path.join(__dirname, '..', '..', 'node_modules', '.bin');
export const AGENT_BINARIES = { claude: path.join(bin, 'claude'), codex: path.join(bin, 'codex'), gemini: path.join(bin, 'gemini') } as const;

/** Each agent's run is bounded so a hung agent fails its test instead of the suite. */
export const AGENT_TIMEOUT_MS = 60_000;

export interface AgentSandbox {
  readonly root: string;
  /** HOME for the agent: its settings, caches and logs land here. */
  readonly home: string;
  /** CODEX_HOME (Codex's config.toml lives here). */
  readonly codexHome: string;
  /** The working directory the agent runs in (an empty folder, not a git repository). */
  readonly work: string;
  remove(): void;
}

export function agentSandbox(): AgentSandbox {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-agent-'));
  const home = path.join(root, 'home');
  const codexHome = path.join(home, '.codex');
  const work = path.join(root, 'work');
  for (const d of [home, codexHome, work, path.join(root, 'tmp')]) fs.mkdirSync(d, { recursive: true });
  return { root, home, codexHome, work, remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}

export interface AgentRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly ms: number;
}

/** What every agent gets: nothing of the machine's environment but PATH, and no way out. */
function baseEnv(sandbox: AgentSandbox): NodeJS.ProcessEnv {
  const deadProxy = 'http://127.0.0.1:9';
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: sandbox.home,
    USERPROFILE: sandbox.home,
    TMPDIR: path.join(sandbox.root, 'tmp'),
    LANG: 'C.UTF-8',
    TERM: 'dumb',
    NO_COLOR: '1',
    CI: '1',
    // Anything that tries the internet through the usual proxy variables hits a closed port;
    // loopback (the proxy and the mock) is reached directly.
    HTTP_PROXY: deadProxy, HTTPS_PROXY: deadProxy, http_proxy: deadProxy, https_proxy: deadProxy,
    NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost',
  };
}

/** Runs a command with a deadline; stdin is closed, so an agent waiting for input ends instead. */
export function runAgent(command: string, args: readonly string[], o: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<AgentRun> {
  const started = Date.now();
  const child = spawn(command, args, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'], detached: process.platform !== 'win32' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  let timedOut = false;
  const kill = (): void => {
    // The agents start helpers of their own: end the whole process group.
    try {
      if (child.pid !== undefined && process.platform !== 'win32') process.kill(-child.pid, 'SIGKILL');
      else child.kill('SIGKILL');
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, o.timeoutMs ?? AGENT_TIMEOUT_MS);
  return new Promise((resolve, reject) => {
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, ms: Date.now() - started });
    });
  });
}

export interface AgentCall {
  readonly sandbox: AgentSandbox;
  readonly prompt: string;
  readonly model: string;
  /** More variables, for instance what `tollgate agents show` printed. */
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
}

/**
 * `claude -p`: pointed at `baseUrl` (ANTHROPIC_BASE_URL) with `apiKey`, one turn. With the proxy
 * variables set it skips its `HEAD /` warm-up; a test that wants the warm-up clears them in `env`.
 */
export function runClaudeCode(o: AgentCall & { baseUrl?: string; apiKey?: string; extraArgs?: readonly string[] }): Promise<AgentRun> {
  const env: NodeJS.ProcessEnv = {
    ...baseEnv(o.sandbox),
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    DISABLE_AUTOUPDATER: '1',
    ...(o.baseUrl ? { ANTHROPIC_BASE_URL: o.baseUrl } : {}),
    ...(o.apiKey ? { ANTHROPIC_API_KEY: o.apiKey } : {}),
    ...o.env,
  };
  return runAgent(AGENT_BINARIES.claude, ['-p', o.prompt, '--model', o.model, '--max-turns', '1', '--output-format', 'text', ...(o.extraArgs ?? [])], { cwd: o.sandbox.work, env, timeoutMs: o.timeoutMs });
}

/**
 * `codex exec`: Codex reads its provider from $CODEX_HOME/config.toml. With `baseUrl`, the harness
 * writes the tollgate provider pointing there; without, the config must already be set up (say, by
 * `tollgate agents setup codex`). The key goes in the variable the provider names (`keyEnv`).
 * `strictConfig` makes Codex refuse a config.toml holding a field it does not know.
 */
export function runCodex(o: AgentCall & { baseUrl?: string; apiKey?: string; keyEnv?: string; strictConfig?: boolean }): Promise<AgentRun> {
  if (o.baseUrl) {
    const file = path.join(o.sandbox.codexHome, 'config.toml');
    const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    fs.writeFileSync(file, setUpCodexProvider(before, { baseUrl: o.baseUrl }));
  }
  const env: NodeJS.ProcessEnv = {
    ...baseEnv(o.sandbox),
    CODEX_HOME: o.sandbox.codexHome,
    ...(o.apiKey ? { [o.keyEnv ?? 'TOLLGATE_CODEX_API_KEY']: o.apiKey } : {}),
    ...o.env,
  };
  // No update check, no analytics, no retries that would stretch a failing run.
  const settings = ['check_for_update_on_startup=false', 'analytics.enabled=false', 'model_providers.tollgate.request_max_retries=0', 'model_providers.tollgate.stream_max_retries=0'];
  const args = ['exec', '--skip-git-repo-check', '--ephemeral', ...(o.strictConfig ? ['--strict-config'] : []), '-m', o.model, ...settings.flatMap((s) => ['-c', s]), o.prompt];
  return runAgent(AGENT_BINARIES.codex, args, { cwd: o.sandbox.work, env, timeoutMs: o.timeoutMs });
}

/** `gemini -p`: pointed at `baseUrl` (GOOGLE_GEMINI_BASE_URL) with `apiKey`, API-key auth chosen in its settings. */
export function runGeminiCli(o: AgentCall & { baseUrl?: string; apiKey?: string }): Promise<AgentRun> {
  const dir = path.join(o.sandbox.home, '.gemini');
  fs.mkdirSync(dir, { recursive: true });
  const settings = {
    security: { auth: { selectedType: 'gemini-api-key' } },
    privacy: { usageStatisticsEnabled: false },
    telemetry: { enabled: false },
    general: { disableAutoUpdate: true, disableUpdateNag: true },
  };
  fs.writeFileSync(path.join(dir, 'settings.json'), JSON.stringify(settings, null, 2));
  const env: NodeJS.ProcessEnv = {
    ...baseEnv(o.sandbox),
    GEMINI_CLI_TRUST_WORKSPACE: 'true',
    ...(o.baseUrl ? { GOOGLE_GEMINI_BASE_URL: o.baseUrl } : {}),
    ...(o.apiKey ? { GEMINI_API_KEY: o.apiKey } : {}),
    ...o.env,
  };
  return runAgent(AGENT_BINARIES.gemini, ['-p', o.prompt, '-m', o.model], { cwd: o.sandbox.work, env, timeoutMs: o.timeoutMs });
}

/** A run's output for an assertion message. */
export function describeRun(run: AgentRun): string {
  return `exit ${run.code}${run.signal ? ` (${run.signal})` : ''}${run.timedOut ? ', timed out' : ''} after ${run.ms} ms\n--- stdout\n${run.stdout.slice(-4000)}\n--- stderr\n${run.stderr.slice(-4000)}`;
}
