import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { codexBaseUrl } from './agents';
import type { CodexProviderOptions, CodexProviderState } from './codex-config';
import { codexProviderState, removeCodexProvider, setUpCodexProvider } from './codex-config';

// Codex's config.toml on disk: found where Codex looks for it, edited by rewriting the whole file
// atomically (a temporary file renamed over it), so a crash never leaves half a config behind.

/** $CODEX_HOME, else ~/.codex, as Codex resolves it. */
export function codexHome(env: NodeJS.ProcessEnv): string {
  if (env.CODEX_HOME) return path.resolve(env.CODEX_HOME);
  return path.join(env.HOME || env.USERPROFILE || os.homedir(), '.codex');
}

export function codexConfigPath(home: string): string {
  return path.join(home, 'config.toml');
}

function readIfPresent(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Writes through a symbolic link (a dotfiles checkout) instead of replacing it, and keeps the file's mode. */
function writeAtomically(file: string, text: string): void {
  let target = file;
  try {
    target = fs.realpathSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  let mode = 0o600;
  try {
    mode = fs.statSync(target).mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
  const tmp = `${target}.tollgate-${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, text, { mode });
    fs.renameSync(tmp, target);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

export interface CodexFileChange {
  readonly file: string;
  /** False when the file already said exactly this. */
  readonly changed: boolean;
  readonly state: CodexProviderState;
}

export function readCodexProvider(home: string): { file: string; exists: boolean; state: CodexProviderState } {
  const file = codexConfigPath(home);
  const text = readIfPresent(file);
  return { file, exists: text !== undefined, state: codexProviderState(text ?? '') };
}

/** Adds (or updates) the tollgate provider in the config.toml under `home` and selects it. */
export function setUpCodexFile(home: string, o: CodexProviderOptions): CodexFileChange {
  const file = codexConfigPath(home);
  const before = readIfPresent(file);
  const after = setUpCodexProvider(before ?? '', o);
  if (after !== before) writeAtomically(file, after);
  return { file, changed: after !== before, state: codexProviderState(after) };
}

/** `tollgate agents setup codex` and the editor's offer: the provider pointed at the proxy at `proxyUrl`. */
export function setUpCodexForProxy(home: string, proxyUrl: string): CodexFileChange {
  return setUpCodexFile(home, { baseUrl: codexBaseUrl(proxyUrl) });
}

/** Removes the tollgate provider from the config.toml under `home`; a missing file is left missing. */
export function removeCodexFile(home: string): CodexFileChange {
  const file = codexConfigPath(home);
  const before = readIfPresent(file);
  if (before === undefined) return { file, changed: false, state: codexProviderState('') };
  const after = removeCodexProvider(before);
  if (after !== before) writeAtomically(file, after);
  return { file, changed: after !== before, state: codexProviderState(after) };
}
