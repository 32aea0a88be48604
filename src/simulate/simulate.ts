import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { normalizeUser } from '../engine/identity/identity';
import type { Policy } from '../engine/policy/model';
import type { IdentityChange } from './diff';
import { BaselineDiff } from './diff';
import type { PolicyReport } from './replay';
import { Replay } from './replay';
import { callFor, parseTrafficLine, TrafficError } from './traffic';

/** The JSON report (`--format json`); docs/traffic.md documents it. Append fields, never rename. */
export interface SimulationReport {
  readonly format: 'tollgate-simulate/1';
  readonly traffic: { readonly file: string | null; readonly requests: number; readonly from: string | null; readonly to: string | null };
  readonly policy: PolicyReport;
  readonly baseline: PolicyReport | null;
  readonly changes: IdentityChange[] | null;
}

/** A numbered line of traffic text. */
export interface NumberedLine {
  readonly text: string;
  readonly line: number;
}

/** Every bad line found (up to a bound), so one run names them all rather than one per try. */
export class TrafficFileError extends Error {
  readonly reason = 'traffic' as const;
  constructor(readonly errors: readonly TrafficError[]) {
    super(errors.map((e) => `line ${e.line}: ${e.message}`).join('\n'));
    this.name = 'TrafficFileError';
  }
  static is(err: unknown): err is TrafficFileError {
    return err instanceof TrafficFileError;
  }
}

export interface SimulateOptions {
  readonly policy: Policy;
  readonly baseline?: Policy;
  readonly file?: string;
  /** Most errors collected before giving up. */
  readonly maxErrors?: number;
}

const MAX_ERRORS = 20;

/**
 * Replays numbered traffic lines against a policy (and a baseline, line for line). Lines must be in
 * time order: the accumulators only move forward. A bad line stops the replay, but reading goes on
 * to name the next bad lines too; then the whole run fails with all of them.
 */
export async function simulate(lines: AsyncIterable<NumberedLine> | Iterable<NumberedLine>, options: SimulateOptions): Promise<SimulationReport> {
  const proposed = new Replay(options.policy);
  const baseline = options.baseline ? new Replay(options.baseline) : undefined;
  const diff = baseline ? new BaselineDiff() : undefined;
  const errors: TrafficError[] = [];
  const maxErrors = options.maxErrors ?? MAX_ERRORS;
  let first: number | undefined;
  let last: number | undefined;
  let requests = 0;
  for await (const { text, line } of lines) {
    try {
      const t = parseTrafficLine(text, line);
      if (!t) continue;
      if (last !== undefined && t.time < last) {
        throw new TrafficError('order', line, `time ${new Date(t.time).toISOString()} is before the previous line's ${new Date(last).toISOString()}; sort the file by time`);
      }
      last = t.time;
      first ??= t.time;
      if (errors.length > 0) {
        // Replay has stopped; still check what replaying would check, to name every bad line.
        callFor(options.policy, t, line);
        continue;
      }
      requests++;
      const p = await proposed.step(t, line);
      if (baseline && diff) diff.record(normalizeUser(t.user), t.time, await baseline.step(t, line), p);
    } catch (err) {
      if (!TrafficError.is(err)) throw err;
      errors.push(err);
      if (errors.length >= maxErrors) break;
    }
  }
  if (errors.length > 0) throw new TrafficFileError(errors);
  return {
    format: 'tollgate-simulate/1',
    traffic: { file: options.file ?? null, requests, from: first === undefined ? null : new Date(first).toISOString(), to: last === undefined ? null : new Date(last).toISOString() },
    policy: proposed.report(),
    baseline: baseline ? baseline.report() : null,
    changes: diff ? diff.changes() : null,
  };
}

/** A traffic file's lines, numbered, with the bytes read so far for a progress bar. */
export async function* readTrafficFile(file: string, onBytes?: (bytesRead: number) => void): AsyncGenerator<NumberedLine> {
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of rl) {
      line++;
      if (onBytes && (line & 0x3fff) === 0) onBytes(stream.bytesRead);
      yield { text, line };
    }
    onBytes?.(stream.bytesRead);
  } finally {
    rl.close();
    stream.destroy();
  }
}
