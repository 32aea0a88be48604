/**
 * The proxy's log: one line per event on stderr, with every secret redacted. Known secrets (the
 * upstream keys, the admin token) are replaced wherever they appear; anything shaped like a bearer
 * token, a JWT or a provider key is masked too, so a request echoed into an error cannot leak one.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

const shapes: RegExp[] = [
  /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g,
  /\b(?:sk|pk|rk)-[A-Za-z0-9_-]{12,}/g,
  /\b(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi,
];

export class Logger {
  private readonly secrets = new Set<string>();

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly level: LogLevel = 'info',
  ) {}

  /** Registers a value that must never appear in a log line. */
  addSecret(secret: string | undefined): void {
    if (secret && secret.length >= 6) this.secrets.add(secret);
  }

  redact(text: string): string {
    let s = text;
    for (const secret of this.secrets) s = s.split(secret).join('[redacted]');
    for (const shape of shapes) s = s.replace(shape, (_m, bearer?: string) => (typeof bearer === 'string' && /^bearer/i.test(bearer) ? `${bearer}[redacted]` : '[redacted]'));
    return s;
  }

  log(level: LogLevel, message: string): void {
    if (order[level] < order[this.level]) return;
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
