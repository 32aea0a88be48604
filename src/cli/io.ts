// The streams and environment a command runs against, passed in so tests can run
// commands in-process and read what they print.
export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly stdoutIsTTY: boolean;
  /** Whether stderr is a terminal (progress bars draw only there); absent means no. */
  readonly stderrIsTTY?: boolean;
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
