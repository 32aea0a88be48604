import type { TomlStatement } from './toml-layout';
import { tomlLayout, tomlString, tomlStringValue } from './toml-layout';

// Codex ignores OPENAI_BASE_URL: it reaches a proxy only through a model provider in its
// config.toml. These edits add, update or remove exactly the `tollgate` provider table and the
// top-level `model_provider` key; every other byte of the file (comments, tables, order, line
// endings) stays as it was, and setting up then removing gives back the original file.

export const CODEX_PROVIDER_ID = 'tollgate';
/** The variable Codex reads the session token from (the provider's `env_key`). */
export const CODEX_KEY_ENV = 'TOLLGATE_CODEX_API_KEY';
/** The agent name Codex's calls are attributed to. */
export const CODEX_AGENT = 'codex';

const MARKER = '# Added by `tollgate agents setup codex`; `tollgate agents remove codex` takes it out again.';
/** Put before a `model_provider` line the setup replaced, so removing the provider restores it. */
const ASIDE = '# tollgate agents setup set this aside: ';

const tablePath = ['model_providers', CODEX_PROVIDER_ID] as const;

export type CodexConfigErrorReason = 'unreadable' | 'conflict';

export class CodexConfigError extends Error {
  constructor(
    readonly reason: CodexConfigErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'CodexConfigError';
  }
  static is(err: unknown, reason?: CodexConfigErrorReason): err is CodexConfigError {
    return err instanceof CodexConfigError && (reason === undefined || err.reason === reason);
  }
}

export interface CodexProviderOptions {
  /** The proxy's OpenAI base, with /v1 (http://127.0.0.1:8787/openai/v1). */
  readonly baseUrl: string;
}

export interface CodexProviderState {
  /** The file has a `[model_providers.tollgate]` table. */
  readonly defined: boolean;
  /** Its base_url, when it is a plain string. */
  readonly baseUrl?: string;
  /** The top-level `model_provider` selects it. */
  readonly selected: boolean;
}

interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

interface Layout {
  readonly text: string;
  readonly statements: readonly TomlStatement[];
  readonly eol: string;
  /** Statements before the first table header: the root table. */
  readonly rootEnd: number;
  /** [first, last] statement indexes of each tollgate table (and its sub-tables), trailing comments excluded. */
  readonly regions: readonly (readonly [number, number])[];
  /** Index of the root `model_provider` statement, if any. */
  readonly selector: number | undefined;
}

function startsWith(path: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((p, i) => path[i] === p);
}

function isHeader(s: TomlStatement): boolean {
  return s.kind === 'header' || s.kind === 'array-header';
}

function layoutOf(text: string): Layout {
  let statements: TomlStatement[];
  try {
    statements = tomlLayout(text);
  } catch (err) {
    throw new CodexConfigError('unreadable', `cannot follow the file's TOML (${(err as Error).message}); it was left as it is`);
  }
  const eol = /\r\n/.test(text) ? '\r\n' : '\n';
  let rootEnd = statements.findIndex(isHeader);
  if (rootEnd < 0) rootEnd = statements.length;
  const regions: [number, number][] = [];
  let selector: number | undefined;
  let table: readonly string[] = [];
  let ours = false;
  for (let i = 0; i < statements.length; i++) {
    const s = statements[i]!;
    if (isHeader(s)) {
      table = s.path;
      const mine = s.kind === 'header' && startsWith(s.path, tablePath);
      if (s.kind === 'array-header' && startsWith(tablePath, s.path.slice(0, tablePath.length)) && s.path.length <= tablePath.length) {
        throw new CodexConfigError('conflict', `line ${s.line} declares [[${s.path.join('.')}]], an array, where Codex expects the table [model_providers.${CODEX_PROVIDER_ID}]; edit it by hand`);
      }
      if (mine && !ours) regions.push([i, i]);
      ours = mine;
      continue;
    }
    if (ours && s.kind === 'keyvalue') regions[regions.length - 1]![1] = i;
    if (s.kind !== 'keyvalue') continue;
    const full = [...table, ...s.path];
    if (!ours && (startsWith(full, tablePath) || startsWith(tablePath, full))) {
      throw new CodexConfigError('conflict', `line ${s.line} defines ${full.join('.')} outside a [model_providers.${CODEX_PROVIDER_ID}] table; edit it by hand or remove it first`);
    }
    if (i < rootEnd && s.path.length === 1 && s.path[0] === 'model_provider') selector = i;
  }
  return { text, statements, eol, rootEnd, regions, selector };
}

/** Where the tollgate provider stands in a config.toml's text. */
export function codexProviderState(text: string): CodexProviderState {
  const l = layoutOf(text);
  let baseUrl: string | undefined;
  for (const [first, last] of l.regions) {
    for (let i = first; i <= last; i++) {
      const s = l.statements[i]!;
      if (s.kind === 'keyvalue' && s.path.length === 1 && s.path[0] === 'base_url' && l.statements[first]!.path.length === tablePath.length) baseUrl = tomlStringValue(s.value ?? '');
    }
  }
  const selected = l.selector !== undefined && tomlStringValue(l.statements[l.selector]!.value ?? '') === CODEX_PROVIDER_ID;
  return { defined: l.regions.length > 0, baseUrl, selected };
}

function providerTable(o: CodexProviderOptions, eol: string): string {
  return [
    MARKER,
    `[model_providers.${CODEX_PROVIDER_ID}]`,
    `name = ${tomlString('Tollgate')}`,
    `base_url = ${tomlString(o.baseUrl)}`,
    `env_key = ${tomlString(CODEX_KEY_ENV)}`,
    `env_key_instructions = ${tomlString(`Set ${CODEX_KEY_ENV} to a Tollgate session token: eval "$(tollgate agents show codex --user YOU)"`)}`,
    `wire_api = ${tomlString('responses')}`,
    // Attributes the calls to Codex even when the token in the variable was minted for another agent.
    `http_headers = { ${tomlString('x-tollgate-agent')} = ${tomlString(CODEX_AGENT)} }`,
    '',
  ].join(eol);
}

/** The region's first statement, widened over our marker comment right above the header. */
function regionStart(l: Layout, first: number): number {
  const above = l.statements[first - 1];
  return above && above.kind === 'comment' && l.text.slice(above.start, above.end).trim() === MARKER ? first - 1 : first;
}

function applyEdits(text: string, edits: Edit[]): string {
  const sorted = [...edits].sort((a, b) => b.start - a.start);
  let out = text;
  for (const e of sorted) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

function lineOf(l: Layout, s: TomlStatement): string {
  return l.text.slice(s.start, s.end).replace(/\r?\n$|\r$/, '').replace(/^\ufeff/, '');
}

/** Adds the tollgate provider (or updates it in place) and selects it; returns the new text. */
export function setUpCodexProvider(original: string, o: CodexProviderOptions): string {
  // A last line without its line break gets one first, so what is added starts on a line of its own.
  const eol = /\r\n/.test(original) ? '\r\n' : '\n';
  const text = original.replace(/^\ufeff/, '').length > 0 && !/[\r\n]$/.test(original) ? `${original}${eol}` : original;
  const l = layoutOf(text);
  const edits: Edit[] = [];
  const table = providerTable(o, l.eol);
  if (l.regions.length > 0) {
    l.regions.forEach(([first, last], n) => {
      const from = l.statements[regionStart(l, first)]!.start;
      edits.push({ start: from, end: l.statements[last]!.end, text: n === 0 ? table : '' });
    });
  } else {
    const gap = text.replace(/^\ufeff/, '').length > 0 ? l.eol : '';
    edits.push({ start: text.length, end: text.length, text: `${gap}${table}` });
  }
  const selectLine = `model_provider = ${tomlString(CODEX_PROVIDER_ID)}${l.eol}`;
  if (l.selector !== undefined) {
    const s = l.statements[l.selector]!;
    if (tomlStringValue(s.value ?? '') !== CODEX_PROVIDER_ID) {
      const bom = text.charCodeAt(s.start) === 0xfeff ? '\ufeff' : '';
      edits.push({ start: s.start, end: s.end, text: `${bom}${ASIDE}${lineOf(l, s)}${l.eol}${selectLine}` });
    }
  } else {
    // After the root table's last key, or at the very top when it has none.
    let after = -1;
    for (let i = 0; i < l.rootEnd; i++) if (l.statements[i]!.kind === 'keyvalue') after = i;
    if (after >= 0) {
      edits.push({ start: l.statements[after]!.end, end: l.statements[after]!.end, text: selectLine });
    } else {
      const at = text.charCodeAt(0) === 0xfeff ? 1 : 0;
      edits.push({ start: at, end: at, text: selectLine });
    }
  }
  return applyEdits(text, edits);
}

/** Removes the tollgate provider and gives `model_provider` back its earlier value; returns the new text. */
export function removeCodexProvider(text: string): string {
  const l = layoutOf(text);
  const edits: Edit[] = [];
  for (const [first, last] of l.regions) {
    let from = regionStart(l, first);
    let to = last + 1;
    // Blank lines after the table went with it; before it too, when nothing of the file follows.
    while (l.statements[to]?.kind === 'blank') to++;
    if (to >= l.statements.length) while (from > 0 && l.statements[from - 1]!.kind === 'blank') from--;
    const end = to < l.statements.length ? l.statements[to]!.start : text.length;
    edits.push({ start: l.statements[from]!.start, end, text: '' });
  }
  if (l.selector !== undefined) {
    const s = l.statements[l.selector]!;
    if (tomlStringValue(s.value ?? '') === CODEX_PROVIDER_ID) {
      const above = l.statements[l.selector - 1];
      const aside = above?.kind === 'comment' ? lineOf(l, above).trimStart() : '';
      if (above && aside.startsWith(ASIDE)) {
        const bom = text.charCodeAt(above.start) === 0xfeff ? '\ufeff' : '';
        edits.push({ start: above.start, end: s.end, text: `${bom}${aside.slice(ASIDE.length)}${l.eol}` });
      } else {
        const bom = text.charCodeAt(s.start) === 0xfeff ? '\ufeff' : '';
        edits.push({ start: s.start, end: s.end, text: bom });
      }
    }
  }
  return applyEdits(text, edits);
}
