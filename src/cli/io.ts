// The streams and environment a command runs against, passed in so tests can run
// commands in-process and read what they print.

import { parentChannel } from '../proxy/child-channel';
import type { ParentChannel } from '../proxy/child-channel';

export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly stdoutIsTTY: boolean;
  /** Whether stderr is a terminal (progress bars draw only there); absent means no. */
  readonly stderrIsTTY?: boolean;
  /** Where a command reads a person's answer to a question; absent: nobody to ask. */
  readonly stdin?: NodeJS.ReadableStream;
  /** Whether stdin is a terminal (a question is asked only there). */
  readonly stdinIsTTY?: boolean;
  /** Set when the process was started with an IPC channel (by the editor): what `serve` tells its parent. */
  readonly parent?: ParentChannel;
}

export type CommandRunner = (argv: string[], io: CliIo) => Promise<number>;

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    stdoutIsTTY: Boolean(process.stdout.isTTY),
    stderrIsTTY: Boolean(process.stderr.isTTY),
    // Opened only when a command asks something: an unused stdin handle is left alone.
    get stdin(): NodeJS.ReadableStream {
      return process.stdin;
    },
    stdinIsTTY: Boolean(process.stdin.isTTY),
    parent: parentChannel(),
  };
}

/** A usage error: the command line itself was wrong (exit 2). */
export class UsageError extends Error {
  readonly reason = 'usage' as const;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
  static is(err: unknown, reason?: 'usage'): err is UsageError {
    return err instanceof UsageError && (reason === undefined || err.reason === reason);
  }
}

/** `--help` or `-h` on a command: its help goes to stdout and the command exits 0 without running. */
export class HelpRequest extends Error {
  readonly reason = 'help' as const;
  constructor(readonly text: string) {
    super('help requested');
    this.name = 'HelpRequest';
  }
  static is(err: unknown, reason?: 'help'): err is HelpRequest {
    return err instanceof HelpRequest && (reason === undefined || err.reason === reason);
  }
}
