import { PassThrough } from 'node:stream';
import { runCli } from '../../src/cli/main';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tollgate command in-process and collects what it printed. */
export async function runTollgate(argv: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  out.on('data', (c: Buffer) => chunks.out.push(c));
  err.on('data', (c: Buffer) => chunks.err.push(c));
  const code = await runCli(argv, {
    stdout: out,
    stderr: err,
    env: options.env ?? process.env,
    cwd: options.cwd ?? process.cwd(),
    stdoutIsTTY: false,
  });
  return { code, stdout: Buffer.concat(chunks.out).toString('utf8'), stderr: Buffer.concat(chunks.err).toString('utf8') };
}
