// code-server (VS Code's server and web workbench, from npm) for the browser-driven editor tests:
// installed once per machine by scripts/, started per test file in fresh folders, and always
// stopped as a whole process group.

import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { approveUpstreamBeforehand, EDITOR_UPSTREAM_KEY, prepareWorkspace, writeUserSettings } from '../editor/workspace';
import { MockUpstream } from '../helpers/mock-upstream';
import { launchBrowser } from './workbench';

const repo = path.resolve(__dirname, '..', '..');

/** Installs the Debian packages and code-server if missing (idempotent) and returns the launcher's path. */
export function installEditor(): string {
  execFileSync('bash', [path.join(repo, 'scripts', 'install-editor-deps.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  const out = execFileSync('bash', [path.join(repo, 'scripts', 'install-code-server.sh')], { stdio: ['ignore', 'pipe', 'inherit'] }).toString().trim().split('\n');
  const bin = out[out.length - 1]!;
  if (!fs.existsSync(bin)) throw new Error(`code-server launcher missing at ${bin}`);
  return bin;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

export interface EditorFolders {
  readonly root: string;
  readonly home: string;
  readonly userData: string;
  readonly extensions: string;
}

export function editorFolders(root: string): EditorFolders {
  const f = { root, home: path.join(root, 'home'), userData: path.join(root, 'user-data'), extensions: path.join(root, 'extensions') };
  for (const dir of [f.home, f.userData, f.extensions]) fs.mkdirSync(dir, { recursive: true });
  return f;
}

/** The environment code-server and its extension host get: a private home so nothing leaks across runs. */
export function editorEnv(f: EditorFolders, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: f.home, XDG_CONFIG_HOME: path.join(f.home, '.config'), XDG_DATA_HOME: path.join(f.home, '.local', 'share'), XDG_CACHE_HOME: path.join(f.home, '.cache'), SHELL: '/bin/bash', ...extra };
  // The editor under test must not inherit a developer's real keys or a proxy of the runner's own.
  for (const k of ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'OPENAI_BASE_URL', 'ANTHROPIC_BASE_URL', 'TOLLGATE_DATA_DIR', 'ELECTRON_RUN_AS_NODE', 'VSCODE_IPC_HOOK_CLI']) delete env[k];
  return env;
}

export function installExtension(bin: string, f: EditorFolders, vsix: string, env: NodeJS.ProcessEnv): void {
  execFileSync(bin, ['--extensions-dir', f.extensions, '--user-data-dir', f.userData, '--install-extension', vsix], { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
}

export class CodeServer {
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    readonly log: string,
  ) {}

  /** `workspaceTrust`: keep VS Code's workspace trust on, so a new folder opens in Restricted Mode. */
  static async start(bin: string, f: EditorFolders, workspace: string, env: NodeJS.ProcessEnv, o: { workspaceTrust?: boolean } = {}): Promise<CodeServer> {
    const port = await freePort();
    const log = path.join(f.root, 'code-server.log');
    const out = fs.openSync(log, 'a');
    // detached: its own process group (setsid), so stop() takes down the server, its extension
    // hosts, terminals and the proxy child together.
    const child = spawn(
      bin,
      ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--extensions-dir', f.extensions, '--user-data-dir', f.userData, '--disable-telemetry', '--disable-update-check', ...(o.workspaceTrust ? [] : ['--disable-workspace-trust']), workspace],
      { env, detached: true, stdio: ['ignore', out, out] },
    );
    fs.closeSync(out);
    const server = new CodeServer(child, `http://127.0.0.1:${port}`, log);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`code-server exited (${child.exitCode}); see ${log}`);
      const ok = await fetch(`${server.url}/healthz`).then((r) => r.ok, () => false);
      if (ok) return server;
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error(`code-server did not answer /healthz within 60 s; see ${log}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** SIGTERM to the whole group, SIGKILL what is left after 5 s. */
  async stop(): Promise<void> {
    const pid = this.child.pid;
    if (!pid) return;
    const alive = (): boolean => {
      try {
        process.kill(-pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    if (!alive()) return;
    process.kill(-pid, 'SIGTERM');
    const deadline = Date.now() + 5_000;
    while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (alive()) process.kill(-pid, 'SIGKILL');
  }
}

/**
 * Adds an unpacked extension folder to the extensions dir. The folder alone is not enough: VS Code
 * treats a folder that extensions.json does not list as removed, so it is listed there too.
 */
export function addUnpackedExtension(f: EditorFolders, source: string, id: string, version: string): void {
  const name = `${id}-${version}`;
  const target = path.join(f.extensions, name);
  fs.cpSync(source, target, { recursive: true });
  const index = path.join(f.extensions, 'extensions.json');
  const entries = fs.existsSync(index) ? (JSON.parse(fs.readFileSync(index, 'utf8')) as unknown[]) : [];
  entries.push({
    identifier: { id },
    version,
    location: { $mid: 1, fsPath: target, external: `file://${target}`, path: target, scheme: 'file' },
    relativeLocation: name,
    metadata: { installedTimestamp: Date.now(), source: 'resource' },
  });
  fs.writeFileSync(index, JSON.stringify(entries));
}

/**
 * Packages the .vsix from a staging copy of what ships, built by `npm run build` already: running
 * vsce in the repository would run `vscode:prepublish` and rewrite dist/ under other tests' feet.
 * vsce gets the options of package.json's `package` script, so tests package as a release does.
 */
export function packageVsix(repoDir: string, stage: string, out: string): void {
  fs.mkdirSync(stage, { recursive: true });
  const pkg = JSON.parse(fs.readFileSync(path.join(repoDir, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const script = (pkg.scripts?.package ?? '').trim().split(/\s+/);
  if (script[0] !== 'vsce' || script[1] !== 'package') throw new Error(`package.json's package script is not 'vsce package ...': ${pkg.scripts?.package}`);
  delete pkg.scripts?.['vscode:prepublish'];
  fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(pkg, null, 2));
  for (const item of ['README.md', 'LICENSE', '.vscodeignore', 'dist', 'media', 'schemas', 'policies', 'docs']) {
    const from = path.join(repoDir, item);
    if (fs.existsSync(from)) fs.cpSync(from, path.join(stage, item), { recursive: true });
  }
  execFileSync(path.resolve(repoDir, 'node_modules/.bin/vsce'), [...script.slice(1), '--out', out], { cwd: stage, stdio: ['ignore', 'pipe', 'inherit'] });
}

/** What every editor test run needs before its own set-up: code-server installed, a fresh temporary folder, the packaged .vsix and fresh editor folders. */
export interface EditorInstall {
  readonly bin: string;
  readonly tmp: string;
  readonly vsix: string;
  readonly folders: EditorFolders;
}

export function prepareEditorInstall(prefix: string): EditorInstall {
  const bin = installEditor();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    const vsix = path.join(tmp, 'tollgate.vsix');
    packageVsix(repo, path.join(tmp, 'stage'), vsix);
    return { bin, tmp, vsix, folders: editorFolders(path.join(tmp, 'editor')) };
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** What one editor test run started, each part possibly not started yet when its set-up failed. */
export interface EditorRun {
  readonly browser?: { close(): Promise<unknown> };
  readonly server?: CodeServer;
  readonly mock?: { stop(): Promise<unknown> };
  /** Folders to remove; the run's temporary folder stays when TOLLGATE_KEEP_EDITOR_TMP is set. */
  readonly suiteDir?: string;
  readonly tmp?: string;
}

/** Stops an editor test run whatever state its set-up left it in: browser, editor, mock upstream, folders. */
export async function stopEditorRun(run: EditorRun): Promise<void> {
  await run.browser?.close().catch(() => undefined);
  await run.server?.stop();
  await run.mock?.stop().catch(() => undefined);
  if (run.suiteDir) fs.rmSync(run.suiteDir, { recursive: true, force: true });
  if (run.tmp && !process.env.TOLLGATE_KEEP_EDITOR_TMP) fs.rmSync(run.tmp, { recursive: true, force: true });
}

/** What prepareEditorRun has started so far: filled in step by step, so stopEditorRun stops a set-up that failed halfway. */
export interface PreparedEditorRun {
  tmp?: string;
  mock?: MockUpstream;
  server?: CodeServer;
  browser?: Browser;
  folders?: EditorFolders;
  workspace?: string;
  /** The proxy's data dir and address, of the run's choosing: tokens are minted from the one, calls go to the other. */
  dataDir?: string;
  proxyUrl?: string;
  page?: Page;
}

export interface EditorRunOptions {
  /** Names the run's temporary folder. */
  readonly name: string;
  /** Writes the workspace the editor opens; by default the editor tests' bundle with the mock as upstream. */
  readonly workspace?: (dir: string, upstream: string) => void;
  /** User settings besides the editor tests' own, the data dir and the port. */
  readonly settings?: Record<string, unknown>;
}

/**
 * One editor test run, up to an open workbench: the packaged .vsix installed into a fresh
 * code-server profile, a mock upstream whose host was approved for the key beforehand, the proxy on
 * a data dir and port of the run's choosing, and the workspace open in chromium.
 */
export async function prepareEditorRun(run: PreparedEditorRun, o: EditorRunOptions): Promise<Required<PreparedEditorRun>> {
  const { bin, tmp, vsix, folders } = prepareEditorInstall(`tollgate-${o.name}-`);
  run.tmp = tmp;
  run.folders = folders;
  const mock = (run.mock = new MockUpstream());
  const upstream = await mock.start();
  const workspace = (run.workspace = path.join(tmp, 'workspace'));
  (o.workspace ?? prepareWorkspace)(workspace, upstream);
  const dataDir = (run.dataDir = path.join(tmp, 'proxy-data'));
  const port = await freePort();
  run.proxyUrl = `http://127.0.0.1:${port}`;
  writeUserSettings(folders.userData, { 'tollgate.proxy.dataDir': dataDir, 'tollgate.proxy.port': port, ...o.settings });
  approveUpstreamBeforehand(folders.userData, workspace, upstream);
  // The provider key the proxy sends to the mock, as a developer's environment would hold it.
  const env = editorEnv(folders, {});
  env.OPENAI_API_KEY = EDITOR_UPSTREAM_KEY;
  installExtension(bin, folders, vsix, env);
  const server = (run.server = await CodeServer.start(bin, folders, workspace, env));
  const browser = (run.browser = await launchBrowser());
  const page = (run.page = await browser.newPage({ viewport: { width: 1440, height: 900 } }));
  await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}`, { waitUntil: 'domcontentloaded', timeout: 120_000 });
  await page.locator('.monaco-workbench').waitFor({ timeout: 120_000 });
  return run as Required<PreparedEditorRun>;
}
