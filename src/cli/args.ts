import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { parseDuration } from '../engine/units';
import { HelpRequest, UsageError } from './io';

type Options = NonNullable<ParseArgsConfig['options']>;
type OptionConfig = Options[string];

/** One option as the parser takes it, with what its help says: the parser and `--help` read the same table. */
export type OptionSpec = OptionConfig & {
  /** What the value stands for in the help (FILE, N, 8h); booleans take none. */
  readonly value?: string;
  readonly description: string;
  /** Shown without brackets in the usage line; the command still checks it and says why. */
  readonly required?: boolean;
};

export type OptionTable = Readonly<Record<string, OptionSpec>>;

/** A command's (or a subcommand's) help: its options come from the table its parser uses. */
export interface CommandSpec<O extends OptionTable = OptionTable> {
  /** As typed after `tollgate`: `scan`, `audit export`. */
  readonly name: string;
  readonly summary: string;
  readonly options: O;
  /** Positional arguments in the usage line (`[PATH]...`, `FILE`). */
  readonly positionals?: string;
  /** Lines after the summary: what the options do not say. */
  readonly notes?: readonly string[];
  readonly examples: readonly string[];
}

/** A command made of subcommands (`audit verify`, `policy check`): its help lists them. */
export interface CommandGroup {
  readonly name: string;
  readonly summary: string;
  readonly commands: readonly CommandSpec[];
  readonly notes?: readonly string[];
  readonly examples: readonly string[];
}

const HELP_OPTION = { type: 'boolean', short: 'h', description: 'show this help' } as const satisfies OptionSpec;

/** Keeps the literal option types of a table declared apart from the call that parses it. */
export function commandSpec<O extends OptionTable>(spec: CommandSpec<O>): CommandSpec<O> {
  return spec;
}

function optionLabel(name: string, o: OptionSpec): string {
  return `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
}

function usageLine(spec: CommandSpec): string {
  const parts = Object.entries(spec.options).map(([name, o]) => {
    const flag = `--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    return `${o.required ? flag : `[${flag}]`}${o.multiple ? '...' : ''}`;
  });
  return ['usage: tollgate', spec.name, spec.positionals, ...parts].filter(Boolean).join(' ');
}

function describeOption(o: OptionSpec): string {
  const shown = o.default === undefined || o.default === false ? '' : ` (default ${String(o.default)})`;
  return `${o.description}${shown}`;
}

function table(rows: readonly [string, string][]): string[] {
  const width = Math.min(30, Math.max(...rows.map(([left]) => left.length)));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

/** The text `tollgate NAME --help` prints. */
export function commandHelp(spec: CommandSpec): string {
  const options = { ...spec.options, help: HELP_OPTION };
  return [
    usageLine(spec),
    '',
    spec.summary,
    ...(spec.notes ?? []),
    '',
    'options:',
    ...table(Object.entries(options).map(([name, o]) => [optionLabel(name, o), describeOption(o)])),
    '',
    spec.examples.length === 1 ? 'example:' : 'examples:',
    ...spec.examples.map((e) => `  ${e}`),
    '',
  ].join('\n');
}

/** The text `tollgate GROUP --help` prints: each subcommand and its summary. */
export function groupHelp(group: CommandGroup): string {
  return [
    `usage: tollgate ${group.name} <command> [options]`,
    '',
    group.summary,
    ...(group.notes ?? []),
    '',
    'commands:',
    ...table(group.commands.map((c) => [c.name.slice(group.name.length + 1), c.summary])),
    '',
    `Run 'tollgate ${group.name} <command> --help' for a command's options.`,
    '',
    group.examples.length === 1 ? 'example:' : 'examples:',
    ...group.examples.map((e) => `  ${e}`),
    '',
  ].join('\n');
}

/**
 * A group's answer when its subcommand word asks for help (`help`, `--help`, `-h`: its help, exit 0)
 * or is missing (its help, exit 2 for the usage error); undefined for any other word.
 */
export function groupHelpAnswer(group: CommandGroup, sub: string | undefined, out: { write(text: string): unknown }): number | undefined {
  if (sub !== undefined && sub !== 'help' && sub !== '--help' && sub !== '-h') return undefined;
  out.write(groupHelp(group));
  return sub === undefined ? 2 : 0;
}

/** Whether the arguments ask for help (before a `--`), whatever else they hold. */
export function asksForHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

function parserOptions(table: OptionTable): Options {
  const out: Options = {};
  for (const [name, o] of Object.entries(table)) {
    out[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: o.multiple } : {}), ...(o.default !== undefined ? { default: o.default } : {}) } as OptionConfig;
  }
  return out;
}

/**
 * node:util parseArgs over a command's option table, with its errors turned into usage errors
 * (exit 2) that name the flag; `--help` or `-h` anywhere asks for the command's help instead (exit 0).
 */
export function parseCommandArgs<O extends OptionTable>(argv: string[], spec: CommandSpec<O>, allowPositionals = false): ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: boolean; strict: true }>> {
  if (asksForHelp(argv)) throw new HelpRequest(commandHelp(spec));
  try {
    return parseArgs({ args: argv, options: parserOptions(spec.options), allowPositionals, strict: true }) as ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: boolean; strict: true }>>;
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
}

/** A duration on the command line, in the bundle's notation (500ms, 90s, 30m, 8h, 7d); `flag` names it in the error. */
export function parseDurationArg(text: string, flag: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new UsageError(`invalid ${flag} '${text}': use a number and ms, s, m, h or d (30s, 8h)`);
  return ms;
}
