import { commandSpec, parseCommandArgs } from './args';
import type { CommandRunner } from './io';
import { UsageError } from './io';
import { installPreCommitHook, uninstallPreCommitHook } from '../scan/hook';

// The hook calls this same tollgate by absolute path, so it works from GUI git clients whose
// PATH has neither node nor tollgate.
function defaultCommand(): string[] {
  const main = require.main?.filename;
  if (main && /cli\.js$/.test(main)) return [process.execPath, main];
  return ['tollgate'];
}

export const hookSpec = commandSpec({
  name: 'hook',
  summary: 'Install (or remove) a git pre-commit hook that runs tollgate scan --staged and blocks a commit that adds a key.',
  positionals: 'install|uninstall',
  options: {
    command: { type: 'string', value: 'CMD', description: 'how the hook runs tollgate (default: this tollgate, by absolute path)' },
  },
  examples: ['tollgate hook install'],
});

export const run: CommandRunner = async (argv, io) => {
  const parsed = parseCommandArgs(argv, hookSpec, true);
  const [action, ...extra] = parsed.positionals;
  if (extra.length > 0 || (action !== 'install' && action !== 'uninstall')) throw new UsageError('usage: tollgate hook install [--command CMD] | tollgate hook uninstall');
  if (action === 'install') {
    const command = parsed.values.command ? parsed.values.command.split(' ').filter(Boolean) : defaultCommand();
    const { outcome, file } = await installPreCommitHook(io.cwd, command);
    const said = { created: 'created', added: 'added to the existing hook', updated: 'updated', chained: 'installed; the existing hook runs after it' }[outcome];
    io.stdout.write(`tollgate hook: pre-commit scan ${said}: ${file}\n`);
    return 0;
  }
  const { outcome, file } = await uninstallPreCommitHook(io.cwd);
  const said = { removed: 'removed from', deleted: 'removed; deleted', restored: 'removed; restored the previous hook at', absent: 'not installed in' }[outcome];
  io.stdout.write(`tollgate hook: pre-commit scan ${said} ${file}\n`);
  return 0;
};
