import * as path from 'node:path';
import type { CommandRunner } from './io';
import { UsageError } from './io';
import { commandSpec, parseCommandArgs } from './args';
import { version } from '../../package.json';
import { isScanWorkerThread, serveScanBatches } from '../scan/worker';
import { scanWorkspace } from '../scan/workspace-scan';
import { readBaselineFingerprints, writeBaseline } from '../scan/baseline';
import { summaryLine } from '../scan/report';
import { formatText } from '../scan/formats/text';
import { formatJson } from '../scan/formats/json';
import { formatSarif } from '../scan/formats/sarif';
import { defaultMaxFileBytes } from '../scan/content';
import { counted } from '../contracts/wording';

const formats = ['text', 'json', 'sarif'] as const;
type Format = (typeof formats)[number];

function parseSize(value: string): number {
  const m = /^(\d+)([kKmM]?)[bB]?$/.exec(value);
  if (!m) throw new UsageError(`--max-file-size: expected bytes like 1048576, 512k or 2m, got '${value}'`);
  const unit = m[2]?.toLowerCase() === 'k' ? 1024 : m[2]?.toLowerCase() === 'm' ? 1024 * 1024 : 1;
  return Number(m[1]) * unit;
}

export const scanSpec = commandSpec({
  name: 'scan',
  summary: 'Find hard-coded API keys in files and folders (default: the working directory). Exit 0 clean, 1 findings, 2 error.',
  positionals: '[PATH]...',
  options: {
    staged: { type: 'boolean', default: false, description: 'scan what the next commit will contain (the git index) instead of the working tree' },
    format: { type: 'string', default: 'text', value: formats.join('|'), description: 'output format' },
    baseline: { type: 'string', value: 'FILE', description: 'report only findings whose fingerprints are not in FILE' },
    'write-baseline': { type: 'boolean', default: false, description: 'record the current findings in the --baseline FILE' },
    'max-file-size': { type: 'string', value: 'SIZE', description: 'skip files larger than this (bytes, 512k, 2m; default 1m)' },
    workers: { type: 'string', value: 'N', description: 'scan threads (default: one per core; 0 scans on the main thread)' },
  },
  examples: ['tollgate scan src ../shared-config --format json'],
});

export const run: CommandRunner = async (argv, io) => {
  // A scan worker runs this same bundle; it serves batches instead of parsing a command line.
  if (isScanWorkerThread()) return serveScanBatches();
  const parsed = parseCommandArgs(argv, scanSpec, true);
  const { values, positionals } = parsed;
  const format = values.format as Format;
  if (!formats.includes(format)) throw new UsageError(`--format must be one of ${formats.join(', ')}`);
  if (values['write-baseline'] && !values.baseline) throw new UsageError('--write-baseline needs --baseline FILE');
  const workers = values.workers === undefined ? undefined : Number(values.workers);
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 0)) throw new UsageError('--workers must be a whole number');
  const baselineFile = values.baseline === undefined ? undefined : path.resolve(io.cwd, values.baseline);

  const known = baselineFile && !values['write-baseline'] ? await readBaselineFingerprints(baselineFile) : undefined;
  const report = await scanWorkspace({
    cwd: io.cwd,
    targets: positionals,
    staged: values.staged,
    maxFileBytes: values['max-file-size'] ? parseSize(values['max-file-size']) : defaultMaxFileBytes,
    ...(workers !== undefined ? { workers } : {}),
    ...(known ? { knownFingerprints: known } : {}),
  });
  for (const e of report.errors) io.stderr.write(`tollgate scan: error: ${e}\n`);

  if (values['write-baseline'] && baselineFile) {
    await writeBaseline(baselineFile, report.findings);
    io.stderr.write(`${summaryLine(report)}\ntollgate scan: wrote ${counted(report.findings.length, 'finding')} to baseline ${values.baseline}\n`);
    return report.errors.length > 0 ? 2 : 0;
  }

  io.stdout.write(format === 'json' ? formatJson(report) : format === 'sarif' ? formatSarif(report, version) : formatText(report));
  io.stderr.write(`${summaryLine(report)}\n`);
  if (report.errors.length > 0) return 2;
  if (report.findings.length > 0) {
    if (report.staged) {
      io.stderr.write(
        'tollgate scan: commit blocked. Remove the key (read it from the environment or a secret store) and rotate it.\n' +
          'A false positive: add `tollgate-ignore: <reason>` on its line, or its fingerprint to .tollgateignore.\n',
      );
    }
    return 1;
  }
  return 0;
};
