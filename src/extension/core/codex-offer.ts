import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CodexFileChange } from '../../agents/codex-home';
import { codexHome, readCodexProvider, setUpCodexForProxy } from '../../agents/codex-home';

// The editor's offer to set Codex up. Codex ignores OPENAI_BASE_URL, so the terminal environment
// alone does not bring it through the proxy: it needs the tollgate model provider in its
// config.toml. The editor never writes that file unasked: it offers once, with a button, when
// Codex is there and not yet set up, and remembers the answer.

/** The globalState key under which the person's answer is kept. */
export const CODEX_OFFER_KEY = 'tollgate.codexOffer';

export const SET_UP_CODEX = 'Set Up Codex';
export const NOT_NOW = 'Not Now';

/** What the person answered: set it up, or not now (closing the notification says not now too). */
export type CodexOfferAnswer = 'set-up' | 'not-now';

export interface CodexPresence {
  /** A `codex` executable on PATH. */
  readonly onPath: boolean;
  /** $CODEX_HOME (or ~/.codex) exists. */
  readonly home: boolean;
  /** config.toml already has the tollgate provider (set up by `tollgate agents` or by hand). */
  readonly configured: boolean;
}

/** True when PATH holds an executable named `codex` (with one of PATHEXT's endings on Windows). */
export function codexOnPath(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): boolean {
  const dirs = (env.PATH ?? env.Path ?? '').split(path.delimiter).filter(Boolean);
  const names = platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';').filter(Boolean).map((ext) => `codex${ext.toLowerCase()}`).concat('codex') : ['codex'];
  for (const dir of dirs) {
    for (const name of names) {
      try {
        const file = path.join(dir, name);
        if (!fs.statSync(file).isFile()) continue;
        if (platform !== 'win32') fs.accessSync(file, fs.constants.X_OK);
        return true;
      } catch {
        // not here
      }
    }
  }
  return false;
}

/** Whether Codex is there, and whether its config.toml already goes through the proxy. */
export function codexPresence(env: NodeJS.ProcessEnv): CodexPresence {
  const home = codexHome(env);
  let configured: boolean;
  try {
    configured = readCodexProvider(home).state.defined;
  } catch {
    // A config.toml this cannot follow is one to leave alone: `tollgate agents setup codex` says why.
    configured = true;
  }
  return { onPath: codexOnPath(env), home: fs.existsSync(home), configured };
}

/** The offer is made when Codex is there, not set up, and the person has not answered before. */
export function shouldOfferCodex(presence: CodexPresence, answered: unknown): boolean {
  return answered === undefined && (presence.onPath || presence.home) && !presence.configured;
}

/** What `tollgate agents setup codex` does: the tollgate provider, pointed at this proxy, selected. */
export function setUpCodex(env: NodeJS.ProcessEnv, proxyUrl: string): CodexFileChange {
  return setUpCodexForProxy(codexHome(env), proxyUrl);
}

export function codexOfferMessage(env: NodeJS.ProcessEnv): string {
  const file = path.join(codexHome(env), 'config.toml');
  return `Codex does not go through Tollgate: it ignores OPENAI_BASE_URL. Set it up? Tollgate adds a "tollgate" model provider to ${file} and selects it; the rest of the file stays as it is, and \`tollgate agents remove codex\` takes it out again.`;
}

/** What the editor provides the offer: its notification, its memory, and where the proxy is. */
export interface CodexOfferPorts {
  readonly env: NodeJS.ProcessEnv;
  /** The answer remembered in globalState, if any. */
  answered(): unknown;
  remember(answer: CodexOfferAnswer): Thenable<void> | Promise<void>;
  /** A notification with buttons; resolves with the one pressed, or undefined when closed. */
  ask(message: string, ...buttons: string[]): Thenable<string | undefined> | Promise<string | undefined>;
  info(message: string): void;
  error(message: string): void;
  /** Applies the setup; `setUpCodex` unless a test stands in for the file system. */
  setUp?(env: NodeJS.ProcessEnv, proxyUrl: string): CodexFileChange;
}

export type CodexOfferOutcome = 'not-offered' | 'set-up' | 'declined' | 'failed';

/**
 * Offers once: asks when `shouldOfferCodex` says so, remembers the answer before acting on it (so
 * a failure is not asked again; the command line says what to do), and applies it on "Set Up Codex".
 */
export async function offerCodexSetup(ports: CodexOfferPorts, proxyUrl: string): Promise<CodexOfferOutcome> {
  if (!shouldOfferCodex(codexPresence(ports.env), ports.answered())) return 'not-offered';
  const pressed = await ports.ask(codexOfferMessage(ports.env), SET_UP_CODEX, NOT_NOW);
  if (pressed !== SET_UP_CODEX) {
    await ports.remember('not-now');
    return 'declined';
  }
  await ports.remember('set-up');
  try {
    const change = (ports.setUp ?? setUpCodex)(ports.env, proxyUrl);
    ports.info(`Codex goes through Tollgate: ${change.file} has the "tollgate" model provider. Start Codex from a new terminal, which carries your session token.`);
    return 'set-up';
  } catch (err) {
    ports.error(`Tollgate could not set Codex up: ${(err as Error).message}. \`tollgate agents setup codex\` says what to change.`);
    return 'failed';
  }
}
