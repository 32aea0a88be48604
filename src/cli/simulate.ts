import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { formatIssue, loadPolicy } from '../engine/policy/loader';
import { registeredStyles } from '../providers/registry';
import type { Policy } from '../engine/policy/model';
import { ProgressBar } from '../simulate/progress';
import { formatJson, formatText } from '../simulate/report';
import { readTrafficFile, simulate, TrafficFileError } from '../simulate/simulate';
import { commandHelp, commandSpec, parseCommandArgs } from './args';
import type { CliIo, CommandRunner } from './io';
import { UsageError } from './io';

export const simulateSpec = commandSpec({
  name: 'simulate',
  summary: 'Replay traffic against a policy (and a baseline) and report who would be refused, when, by which rule, and the cost per identity.',
  options: {
    policy: { type: 'string', required: true, value: 'FILE', description: 'the policy bundle to try' },
    traffic: { type: 'string', required: true, value: 'FILE.jsonl', description: 'the calls to replay (audit export --format traffic writes one)' },
    'baseline-policy': { type: 'string', value: 'FILE', description: 'a second bundle to compare against (the one in force)' },
    format: { type: 'string', default: 'text', value: 'text|json', description: 'report format' },
  },
  examples: ['tollgate simulate --policy new.tollgate.yaml --baseline-policy tollgate.yaml --traffic traffic.jsonl'],
});

/** Reads and loads a bundle, or prints its errors as FILE:LINE:COL lines and returns undefined. */
function readPolicy(file: string, io: CliIo): Policy | undefined {
  let text: string;
  try {
    text = readFileSync(path.resolve(io.cwd, file), 'utf8');
  } catch (err) {
    io.stderr.write(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
    return undefined;
  }
  const result = loadPolicy(text, Date.now(), registeredStyles());
  if (!result.ok) {
    for (const e of result.errors) io.stderr.write(`${formatIssue(file, e)}\n`);
    return undefined;
  }
  return result.policy;
}

/**
 * `tollgate simulate`: replays a traffic file against a policy (and a baseline) and prints who
 * would be refused, when, by which rule, and the cost per identity. Exit 0 with a report; 2 when
 * an input (policy, traffic file, flags) is wrong.
 */
export const run: CommandRunner = async (argv, io) => {
  const { values } = parseCommandArgs(argv, simulateSpec);
  if (!values.policy || !values.traffic) throw new UsageError(`--policy and --traffic are required\n${commandHelp(simulateSpec).split('\n')[0]}`);
  const format = values.format;
  if (format !== 'text' && format !== 'json') throw new UsageError(`--format must be text or json, not '${format}'`);
  const policy = readPolicy(values.policy, io);
  if (!policy) return 2;
  const baseline = values['baseline-policy'] === undefined ? undefined : readPolicy(values['baseline-policy'], io);
  if (values['baseline-policy'] !== undefined && !baseline) return 2;
  const trafficPath = path.resolve(io.cwd, values.traffic);
  let size: number;
  try {
    size = statSync(trafficPath).size;
  } catch (err) {
    io.stderr.write(`${values.traffic}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
    return 2;
  }
  const bar = new ProgressBar(io.stderr, size, io.stderrIsTTY === true);
  try {
    const report = await simulate(readTrafficFile(trafficPath, (bytes) => bar.update(bytes)), { policy, baseline, file: values.traffic });
    bar.done();
    io.stdout.write(format === 'json' ? formatJson(report) : formatText(report));
    return 0;
  } catch (err) {
    bar.done();
    if (TrafficFileError.is(err)) {
      for (const e of err.errors) io.stderr.write(`${values.traffic}:${e.line}: ${e.message}\n`);
      return 2;
    }
    throw err;
  }
};
