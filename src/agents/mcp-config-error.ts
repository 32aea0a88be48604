// Why an agent's MCP configuration was left alone: each reason is a file the setup cannot follow or
// may not touch, said so the person can fix it by hand.

export type McpConfigErrorReason =
  /** Not JSON (or TOML) this can follow. */
  | 'unreadable'
  /** Larger than any settings file needs. */
  | 'too-large'
  /** Nested deeper than any settings file needs. */
  | 'too-deep'
  /** The document or its servers section is not an object. */
  | 'not-an-object'
  /** A key the setup reads appears twice: clients disagree on which one counts. */
  | 'duplicate'
  /** A governed server is written in a form the setup does not rewrite. */
  | 'conflict'
  /** A symbolic link or special file where a workspace file should be. */
  | 'unsafe-path'
  /** The file changed since the setup wrote it. */
  | 'changed';

export class McpConfigError extends Error {
  constructor(
    readonly reason: McpConfigErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'McpConfigError';
  }
  static is(err: unknown, reason?: McpConfigErrorReason): err is McpConfigError {
    return err instanceof McpConfigError && (reason === undefined || err.reason === reason);
  }
}

/** A name from a file, fit to print: quoted when it holds anything but plain characters, and short. */
export function printableName(name: string): string {
  const short = name.length > 60 ? `${name.slice(0, 60)}...` : name;
  return /^[A-Za-z0-9_.@-]+$/.test(short) ? short : JSON.stringify(short);
}

/** A command line from a file, fit to print: control characters shown as '?', and short. */
export function printableCommand(line: string): string {
  const plain = Array.from(line, (ch) => (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f ? '?' : ch)).join('').trim();
  return plain.length > 80 ? `${plain.slice(0, 80)}...` : plain;
}
