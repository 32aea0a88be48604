import { Redactor } from '../scan/redactor';

/**
 * The proxy's log: one line per event on stderr, with every secret redacted by the same redactor
 * the editor's log uses: registered secrets (the upstream keys, the admin token) wherever they
 * appear, and anything shaped like a bearer token, a JWT or a provider key.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export class Logger {
  private readonly redactor = new Redactor();

  /** `records`, when given, receives each record (redacted) instead of `out`: a parent process reads them with their level. */
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly level: LogLevel = 'info',
    private readonly records?: (level: LogLevel, message: string) => void,
  ) {}

  /** Registers a value that must never appear in a log line. */
  addSecret(secret: string | undefined): void {
    this.redactor.add(secret);
  }

  redact(text: string): string {
    return this.redactor.redact(text);
  }

  log(level: LogLevel, message: string): void {
    if (order[level] < order[this.level]) return;
    if (this.records) return this.records(level, this.redact(message));
    this.out.write(`${new Date().toISOString()} ${level.padEnd(5)} ${this.redact(message)}\n`);
  }

  debug(m: string): void {
    this.log('debug', m);
  }
  info(m: string): void {
    this.log('info', m);
  }
  warn(m: string): void {
    this.log('warn', m);
  }
  error(m: string): void {
    this.log('error', m);
  }
}
