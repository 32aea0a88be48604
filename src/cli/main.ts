import type { CliIo, CommandRunner } from './io';
import { HelpRequest, processIo, UsageError } from './io';
import { version } from '../../package.json';
import { isDescribeThread } from '../proxy/describe/role';
import { isLedgerIndexThread, isLedgerWorkerThread } from '../store/ledger/worker-role';

// Each command lives in its own module; the table names them so `tollgate help` and the
// dispatcher read from one place.
const commands: Record<string, { summary: string; load: () => Promise<CommandRunner> }> = {
  scan: { summary: 'find hard-coded API keys (scan [PATH]... [--staged] [--format text|json|sarif])', load: async () => (await import('./scan')).run },
  hook: { summary: 'install or remove the pre-commit scan (hook install|uninstall)', load: async () => (await import('./hook')).run },
  policy: { summary: 'check a policy bundle (policy check FILE)', load: async () => (await import('./policy')).run },
  serve: { summary: 'run the attributing proxy', load: async () => (await import('./serve')).run },
  token: { summary: 'mint, list and revoke session tokens (token --user U | token list | token revoke)', load: async () => (await import('./token')).run },
  keys: { summary: 'rotate the session signing key (keys rotate [--revoke-old])', load: async () => (await import('./keys')).run },
  simulate: { summary: 'replay traffic against a policy', load: async () => (await import('./simulate')).run },
  agents: { summary: 'point Claude Code, Codex and Gemini CLI at the proxy (agents [show|setup|remove] [AGENT|all])', load: async () => (await import('./agents')).run },
  identity: { summary: 'lift a suspension (identity resume --user U | --agent A)', load: async () => (await import('./identity')).run },
  mcp: { summary: 'reach the MCP gateway over stdio, approve changed tool definitions, grant approval tokens (mcp bridge|approve|grant)', load: async () => (await import('./mcp')).run },
  audit: { summary: 'verify, checkpoint, export and prune the signed audit ledger', load: async () => (await import('./audit')).run },
};

function usage(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return ['usage: tollgate <command> [options]', '', 'commands:', ...rows, '', "Run 'tollgate <command> --help' (or 'tollgate help <command>') for its options and an example.", ''].join('\n');
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  // `tollgate help scan` is `tollgate scan --help`.
  if (argv[0] === 'help' && argv.length > 1) return runCli([...argv.slice(1), '--help'], io);
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    io.stdout.write(usage());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === 'version') {
    io.stdout.write(`${version}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    io.stderr.write(`tollgate: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  try {
    return await (await command.load())(rest, io);
  } catch (err) {
    if (HelpRequest.is(err)) {
      io.stdout.write(err.text);
      return 0;
    }
    if (UsageError.is(err)) {
      io.stderr.write(`tollgate ${name}: ${err.message}\n`);
      return 2;
    }
    io.stderr.write(`tollgate ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
}

if (require.main === module && isLedgerIndexThread()) {
  // The ledger's worker keeps its query index on a thread of its own, from this bundle too.
  void import('../store/ledger/index-thread').then((w) => w.serveIndexThread());
} else if (require.main === module && isLedgerWorkerThread()) {
  // The proxy's ledger runs its core on a thread started from this same bundle.
  void import('../store/ledger/worker').then((w) => w.serveLedgerThread());
} else if (require.main === module && isDescribeThread()) {
  // The proxy parses, counts and classifies large bodies on threads started from this bundle.
  void import('../proxy/describe/thread').then((w) => w.serveDescribeThread());
} else if (require.main === module) {
  void runCli(process.argv.slice(2), processIo()).then((code) => {
    process.exitCode = code;
  });
}
