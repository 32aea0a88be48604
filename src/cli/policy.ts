import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { formatIssue, loadPolicy } from '../engine/policy/loader';
import { registeredStyles } from '../providers/registry';
import type { CommandGroup } from './args';
import { commandSpec, groupHelp, parseCommandArgs } from './args';
import type { CommandRunner } from './io';
import { HelpRequest, UsageError } from './io';
import { counted } from '../contracts/wording';

export const policyCheckSpec = commandSpec({
  name: 'policy check',
  summary: 'Check a policy bundle as serve does: every error as FILE:LINE:COL: message and exit 1, or a one-line summary and exit 0.',
  positionals: 'FILE',
  options: {},
  examples: ['tollgate policy check tollgate.yaml'],
});

export const policyGroup: CommandGroup = {
  name: 'policy',
  summary: 'Work with policy bundles.',
  commands: [policyCheckSpec],
  examples: policyCheckSpec.examples,
};

/** `tollgate policy check FILE`: every error as FILE:LINE:COL: message, exit 1; a summary and exit 0 when valid. */
export const run: CommandRunner = async (argv, io) => {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') {
    if (sub === undefined) throw new UsageError(`usage: tollgate policy check FILE`);
    throw new HelpRequest(groupHelp(policyGroup));
  }
  if (sub !== 'check') throw new UsageError(`unknown subcommand '${sub}': usage: tollgate policy check FILE`);
  const { positionals } = parseCommandArgs(rest, policyCheckSpec, true);
  if (positionals.length !== 1) throw new UsageError('usage: tollgate policy check FILE');
  const file = positionals[0]!;
  let text: string;
  try {
    text = readFileSync(path.resolve(io.cwd, file), 'utf8');
  } catch (err) {
    io.stderr.write(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
    return 2;
  }
  const result = loadPolicy(text, Date.now(), registeredStyles());
  for (const w of result.warnings) io.stderr.write(`${formatIssue(file, w)}\n`);
  if (!result.ok) {
    for (const e of result.errors) io.stdout.write(`${formatIssue(file, e)}\n`);
    io.stderr.write(`${counted(result.errors.length, 'error')} in ${file}\n`);
    return 1;
  }
  const p = result.policy;
  io.stdout.write(
    `${file}: ok: policy '${p.name}' (${p.hash.slice(0, 12)}): ${counted(p.providers.size, 'provider')}, ${counted(p.limits.length, 'limit')}, ${counted(p.budgets.length, 'budget')}, ` +
      `${counted(p.entitlements.roles.size, 'role entitlement')}, ${counted(p.exceptions.length, 'exception')}\n`,
  );
  return 0;
};
